namespace RetailCam.Engine.Models.Storage;

/// <summary>
/// A model folder or weights file that cannot be loaded as asked: missing, truncated, malformed,
/// or holding tensors that do not fit the network. The message names the file and, where one is
/// to blame, the tensor, so a user can fix the input without reading a native stack trace.
/// </summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException(string filePath, string? tensorName, string problem, Exception? innerException = null)
        : base(Compose(filePath, tensorName, problem), innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Reason = Compose(Path.GetFileName(filePath.TrimEnd(Path.DirectorySeparatorChar)), tensorName, problem);
    }

    /// <summary>The message with the file named by its name alone: what the team is shown, without the server's paths.</summary>
    public string Reason { get; }

    /// <summary>The file (or folder) at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, when the problem is with one tensor.</summary>
    public string? TensorName { get; }

    private static string Compose(string filePath, string? tensorName, string problem) =>
        tensorName is null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}";
}
