namespace RetailCam.Engine.Models.Import;

/// <summary>A pretrained-weights file that cannot be read or does not have the structure we import.</summary>
public sealed class PretrainedModelFormatException : FormatException
{
    public PretrainedModelFormatException(string path, string problem, Exception? inner = null)
        : base($"{Path.GetFileName(path)} is not the expected model: {problem} ({path})", inner)
    {
        FilePath = path;
    }

    public string FilePath { get; }
}

/// <summary>A pretrained-weights file that is not where it was looked for.</summary>
public sealed class PretrainedFileNotFoundException : FileNotFoundException
{
    public PretrainedFileNotFoundException(string fileName, string folder)
        : base($"Pretrained file {fileName} was not found in {folder}. It ships in the NuGet package " +
               "Microsoft.ML.DnnImageFeaturizer.ResNet18 and every build copies it to <output>/pretrained/; " +
               "build the project again or pass the folder that holds it.", Path.Combine(folder, fileName))
    {
        Folder = folder;
    }

    public string Folder { get; }
}
