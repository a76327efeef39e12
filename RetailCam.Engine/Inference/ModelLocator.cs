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
}
