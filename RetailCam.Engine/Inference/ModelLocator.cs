using RetailCam.Engine.Layout;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Engine.Inference;

public static class ModelLocator
{
    /// <summary>
    /// The model folder a user means: a run folder (its best model lives in model/) or a model
    /// folder itself. Fails with the path named when neither holds a manifest.
    /// </summary>
    public static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (ModelFolder.Exists(full)) return full;
        var inRun = new RunPaths(full).ModelFolder;
        if (ModelFolder.Exists(inRun)) return inRun;
        throw new DirectoryNotFoundException(Directory.Exists(full)
            ? $"'{path}' holds no model yet: neither {ModelFolder.ManifestFileName} nor model/{ModelFolder.ManifestFileName} (a run saves its model after its first epoch)."
            : $"Model folder '{path}' does not exist.");
    }

    /// <summary>
    /// As <see cref="Resolve(string)"/>, and where no such folder exists, a model of the data root by the id
    /// <c>GET /api/models</c> lists (<c>run:ID</c>, <c>model:NAME</c>, <c>run:ID@epoch-NNN</c>) or by its run id alone.
    /// </summary>
    public static string Resolve(string reference, ModelRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        if (Directory.Exists(Path.GetFullPath(reference))) return Resolve(reference);
        var source = registry.Locate(reference) ?? (PathSegment.IsValid(reference) ? registry.Locate($"run:{reference}") : null);
        if (source is not null) return source.Folder;
        throw new DirectoryNotFoundException(
            $"'{reference}' is neither a model or run folder nor the id of a model or run with a model under the data root.");
    }
}
