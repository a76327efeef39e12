using RetailCam.Engine.Models.Storage;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>What an import took from a weights file.</summary>
public sealed record Vgg16ImportReport(string FilePath, StateDictFormat Format, int TensorsLoaded, IReadOnlyList<string> IgnoredKeys);

/// <summary>
/// Loads the conv trunk of a torchvision VGG16 state dict, saved with <c>torch.save(model.state_dict())</c>
/// (zip format) or as safetensors, into a <see cref="Vgg16Backbone"/>. <c>features.*</c> must match
/// the backbone exactly; <c>classifier.*</c> (the fully connected layers the CAM head replaces) is
/// ignored; a <c>module.</c> prefix (DataParallel) is dropped. The backbone is left untouched when
/// the file does not fit.
/// </summary>
public static class Vgg16WeightImporter
{
    private const string FeaturesPrefix = "features.";
    private const string ClassifierPrefix = "classifier.";
    private const string DataParallelPrefix = "module.";

    /// <summary>A full-width VGG16 backbone with the file's weights, on <paramref name="device"/> (CPU when null).</summary>
    public static Vgg16Backbone Load(string path, Device? device = null)
    {
        var backbone = new Vgg16Backbone();
        try
        {
            backbone.to(device ?? CPU);
            Import(backbone, path);
            return backbone;
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
    }

    public static Vgg16ImportReport Import(Vgg16Backbone backbone, string path)
    {
        var format = StateDictFiles.DetectFormat(path);
        var targets = backbone.state_dict();
        Dictionary<string, Tensor> loaded;
        if (format == StateDictFormat.Safetensors)
        {
            // Check names and shapes from the header first, then read only the trunk: the classifier
            // of a full VGG16 is 120 M parameters we would read only to throw away.
            var index = SafetensorsIndex.Read(path);
            var fileNames = MapNames(path, index.Entries.Keys, targets);
            foreach (var (target, fileName) in fileNames.Targets)
                CheckShape(path, target, index.Entries[fileName].Shape, targets[target]);
            loaded = StateDictFiles.ReadSafetensors(index, fileNames.Targets.Values.ToList());
            loaded = fileNames.Targets.ToDictionary(pair => pair.Key, pair => loaded[pair.Value], StringComparer.Ordinal);
            return Apply(path, format, targets, loaded, fileNames.Ignored);
        }

        var all = StateDictFiles.ReadPyTorch(path);
        try
        {
            var names = MapNames(path, all.Keys, targets);
            loaded = names.Targets.ToDictionary(pair => pair.Key, pair => all[pair.Value], StringComparer.Ordinal);
            foreach (var (target, tensor) in loaded)
                CheckShape(path, target, tensor.shape, targets[target]);
            return Apply(path, format, targets, loaded, names.Ignored);
        }
        finally
        {
            foreach (var tensor in all.Values) tensor.Dispose();
        }
    }

    private sealed record NameMap(Dictionary<string, string> Targets, List<string> Ignored);

    /// <summary>Pairs every backbone tensor with its key in the file and refuses keys that belong to no VGG16 trunk.</summary>
    private static NameMap MapNames(string path, IEnumerable<string> fileKeys, Dictionary<string, Tensor> targets)
    {
        var byTarget = new Dictionary<string, string>(StringComparer.Ordinal);
        var ignored = new List<string>();
        foreach (var fileKey in fileKeys)
        {
            var key = fileKey.StartsWith(DataParallelPrefix, StringComparison.Ordinal) ? fileKey[DataParallelPrefix.Length..] : fileKey;
            if (key.StartsWith(ClassifierPrefix, StringComparison.Ordinal))
            {
                ignored.Add(fileKey);
            }
            else if (targets.ContainsKey(key))
            {
                if (!byTarget.TryAdd(key, fileKey))
                    throw new ModelLoadException(path, fileKey, $"appears twice (also as '{byTarget[key]}').");
            }
            else if (key.StartsWith(FeaturesPrefix, StringComparison.Ordinal))
            {
                throw new ModelLoadException(path, fileKey,
                    "is not part of VGG16's conv trunk: is this a VGG16 with batch norm (vgg16_bn) or another VGG depth? Only torchvision's plain vgg16 is supported.");
            }
            else
            {
                throw new ModelLoadException(path, fileKey,
                    "is neither features.* nor classifier.*: the file is not a torchvision VGG16 state dict.");
            }
        }
        var missing = targets.Keys.FirstOrDefault(name => !byTarget.ContainsKey(name));
        if (missing is not null)
            throw new ModelLoadException(path, missing, "is missing from the file; a torchvision VGG16 state dict has all 13 conv layers.");
        return new NameMap(byTarget, ignored);
    }

    private static void CheckShape(string path, string name, long[] fileShape, Tensor target)
    {
        if (!fileShape.SequenceEqual(target.shape))
            throw new ModelLoadException(path, name,
                $"has shape {ShapeFormat.Format(fileShape)} but the backbone needs {ShapeFormat.Format(target.shape)}.");
    }

    private static Vgg16ImportReport Apply(string path, StateDictFormat format, Dictionary<string, Tensor> targets,
        Dictionary<string, Tensor> loaded, List<string> ignored)
    {
        try
        {
            foreach (var (name, tensor) in loaded)
            {
                if (!tensor.is_floating_point())
                    throw new ModelLoadException(path, name, $"has dtype {tensor.dtype}; weights must be floating point.");
            }
            using (no_grad())
            {
                foreach (var (name, tensor) in loaded)
                    targets[name].copy_(tensor);
            }
            return new Vgg16ImportReport(path, format, loaded.Count, ignored);
        }
        finally
        {
            foreach (var tensor in loaded.Values) tensor.Dispose();
        }
    }
}
