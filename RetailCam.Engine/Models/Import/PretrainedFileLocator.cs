namespace RetailCam.Engine.Models.Import;

/// <summary>The two files of the pretrained ImageNet ResNet18: the network and its preprocessing graph.</summary>
public sealed record PretrainedResNet18Files(string ModelPath, string PreprocessingPath)
{
    public const string ModelFileName = "ResNet18.onnx";
    public const string PreprocessingFileName = "ResNetPreprocess.onnx";

    /// <summary>Where every build of a project that references the Engine puts them.</summary>
    public static string DefaultFolder => Path.Combine(AppContext.BaseDirectory, "pretrained");

    /// <summary>
    /// Finds both files in <paramref name="folder"/> (default <see cref="DefaultFolder"/>); throws
    /// <see cref="PretrainedFileNotFoundException"/> naming the first one missing.
    /// </summary>
    public static PretrainedResNet18Files Locate(string? folder = null)
    {
        var root = Path.GetFullPath(string.IsNullOrWhiteSpace(folder) ? DefaultFolder : folder);
        var model = Path.Combine(root, ModelFileName);
        var preprocessing = Path.Combine(root, PreprocessingFileName);
        if (!File.Exists(model)) throw new PretrainedFileNotFoundException(ModelFileName, root);
        if (!File.Exists(preprocessing)) throw new PretrainedFileNotFoundException(PreprocessingFileName, root);
        return new PretrainedResNet18Files(model, preprocessing);
    }
}
