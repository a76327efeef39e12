namespace RetailCam.Engine.Layout;

/// <summary>A file written whole or not at all: a temporary beside it, renamed over it, so a reader or a crash never sees half of one.</summary>
public static class AtomicFile
{
    /// <param name="flushToDisk">
    /// Flush to the disk before the rename, so that even a lost machine leaves the old file or the new one:
    /// for what other processes and nodes rely on. A run's frequent small writes skip it.
    /// </param>
    public static void Write(string path, ReadOnlySpan<byte> content, bool flushToDisk)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // NAME.PID.GUID.tmp: the writer's process id where a model folder's clean-up looks for it.
        var temporary = $"{full}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(content);
                if (flushToDisk) stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}
