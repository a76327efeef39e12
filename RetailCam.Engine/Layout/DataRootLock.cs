namespace RetailCam.Engine.Layout;

/// <summary>
/// One serving app per data root: two would train into the same run folders and serve from models the
/// other rewrites. The lock is an exclusive lock on a file in the data root, held while the app runs and
/// released by the operating system if the process dies, so a crash never leaves a stale lock behind.
/// Tools that only read or add accounts (the CLI) do not take it.
/// </summary>
public sealed class DataRootLock : IDisposable
{
    public const string FileName = "retailcam.lock";

    private readonly FileStream stream;

    private DataRootLock(FileStream stream) => this.stream = stream;

    /// <exception cref="DataRootInUseException">Another process holds the data root.</exception>
    public static DataRootLock Acquire(string dataRoot)
    {
        Directory.CreateDirectory(dataRoot);
        var path = Path.Combine(Path.GetFullPath(dataRoot), FileName);
        try
        {
            // FileShare.None is an exclusive flock on Unix and a sharing lock on Windows: either way only one holder.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            stream.SetLength(0);
            using (var writer = new StreamWriter(stream, leaveOpen: true)) writer.Write($"{Environment.ProcessId}\n");
            stream.Flush();
            return new DataRootLock(stream);
        }
        catch (IOException ex)
        {
            throw new DataRootInUseException(dataRoot, ex);
        }
    }

    public void Dispose() => stream.Dispose();
}

/// <summary>The data root is in use by another RetailCam app.</summary>
public sealed class DataRootInUseException(string dataRoot, Exception inner)
    : Exception($"Another RetailCam app is already running on the data folder {dataRoot}: stop it first, or give this one another RetailCam:DataRoot.", inner);
