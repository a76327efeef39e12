using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models.Storage;

public enum StateDictFormat
{
    /// <summary>PyTorch <c>torch.save(state_dict)</c> in the zip format (PyTorch ≥ 1.6).</summary>
    PyTorchZip,
    Safetensors,
}

/// <summary>
/// Reads and writes state dicts (name → tensor) in PyTorch's <c>.pt</c> and in safetensors through
/// TorchSharp.PyBridge, turning every failure into a <see cref="ModelLoadException"/> that names the file.
/// Tensors returned are the caller's to dispose.
/// </summary>
public static class StateDictFiles
{
    // torch.save before PyTorch 1.6 (torchvision's original vgg16-397923af.pth among them) starts
    // with pickle protocol 2 (80 02) and LONG1 (8a 0a) of torch's magic number 0x1950a86a20f9469cfc6c.
    private static readonly byte[] LegacyTorchMagic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    /// <summary>Tells the format from the file's first bytes, not its name.</summary>
    public static StateDictFormat DetectFormat(string path)
    {
        if (!File.Exists(path))
            throw new ModelLoadException(path, null, "file not found.");
        Span<byte> start = stackalloc byte[LegacyTorchMagic.Length];
        int read;
        using (var stream = File.OpenRead(path))
            read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        if (read >= 4 && start[0] == (byte)'P' && start[1] == (byte)'K' && start[2] == 3 && start[3] == 4)
            return StateDictFormat.PyTorchZip;
        // The whole magic, not just the pickle opcode: a safetensors header length can begin with 0x80 too.
        if (start[..read].SequenceEqual(LegacyTorchMagic))
            throw new ModelLoadException(path, null,
                "is a legacy (pre-1.6) torch.save file, which cannot be read here. Re-save it with a current PyTorch " +
                "(torch.save(torch.load(f), g)) or convert it to safetensors (safetensors.torch.save_file).");
        return StateDictFormat.Safetensors;
    }

    /// <summary>Reads a whole state dict from either format.</summary>
    public static Dictionary<string, Tensor> Read(string path) => DetectFormat(path) switch
    {
        StateDictFormat.PyTorchZip => ReadPyTorch(path),
        _ => ReadSafetensors(SafetensorsIndex.Read(path), null),
    };

    /// <summary>Reads a <c>torch.save(state_dict)</c> file; a checkpoint dict with a <c>state_dict</c> entry is accepted too.</summary>
    public static Dictionary<string, Tensor> ReadPyTorch(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: false);
        }
        catch (Exception ex) when (ex is not ModelLoadException and not OutOfMemoryException)
        {
            throw new ModelLoadException(path, null, $"cannot be read as a PyTorch state dict ({ex.GetType().Name}: {ex.Message}).", ex);
        }

        if (table["state_dict"] is Hashtable nested) table = nested;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var foreign = new List<string>();
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is Tensor tensor) result[name] = tensor;
            else foreign.Add(entry.Key?.ToString() ?? "(null)");
        }
        if (foreign.Count > 0)
        {
            foreach (var tensor in result.Values) tensor.Dispose();
            throw new ModelLoadException(path, foreign[0],
                "is not a tensor: the file holds something other than a state dict (save model.state_dict(), not the model).");
        }
        return result;
    }

    /// <summary>Reads the named tensors (all when <paramref name="names"/> is null) of a validated safetensors file.</summary>
    public static Dictionary<string, Tensor> ReadSafetensors(SafetensorsIndex index, IReadOnlyCollection<string>? names)
    {
        var missing = names?.FirstOrDefault(name => !index.Entries.ContainsKey(name));
        if (missing is not null)
            throw new ModelLoadException(index.Path, missing, "is not in the file.");
        try
        {
            using var stream = File.OpenRead(index.Path);
            return Safetensors.LoadStateDict(stream, leaveOpen: false, keysToKeep: names?.ToList());
        }
        catch (Exception ex) when (ex is not ModelLoadException and not OutOfMemoryException)
        {
            throw new ModelLoadException(index.Path, null, $"cannot be read ({ex.GetType().Name}: {ex.Message}); did it change while loading?", ex);
        }
    }

    /// <summary>Writes CPU copies of the tensors as safetensors; the stream is left open and flushed.</summary>
    public static void WriteSafetensors(Stream stream, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var cpu = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (SafetensorsIndex.DTypeName(tensor.dtype) is null)
                throw new NotSupportedException($"Tensor '{name}' has dtype {tensor.dtype}, which safetensors files here cannot hold.");
            cpu[name] = tensor.detach().cpu().contiguous();
        }
        Safetensors.SaveStateDict(stream, cpu, leaveOpen: true);
        stream.Flush();
    }

    /// <summary>Writes CPU copies of the tensors in PyTorch's zip format, loadable with <c>torch.load</c>.</summary>
    public static void WritePyTorch(Stream stream, IReadOnlyDictionary<string, Tensor> tensors)
    {
        using var scope = NewDisposeScope();
        var cpu = new Hashtable();
        foreach (var (name, tensor) in tensors)
            cpu[name] = tensor.detach().cpu().contiguous();
        PyTorchPickler.PickleStateDict(stream, cpu, leaveOpen: true);
        stream.Flush();
    }
}
