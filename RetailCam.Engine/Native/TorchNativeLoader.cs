using System.Runtime.InteropServices;

namespace RetailCam.Engine.Native;

/// <summary>
/// Makes TorchSharp's native library loadable before TorchSharp's first use: every copy of
/// libLibTorchSharp.so beside the application gets the GLIBCXX weak-version patch when the system
/// libstdc++ lacks that version. Idempotent, thread-safe, and a no-op on systems that do not need it.
/// </summary>
public static class TorchNativeLoader
{
    public const string LibraryFileName = "libLibTorchSharp.so";
    private static readonly Lock Gate = new();
    private static NativeLoadReport? _report;

    /// <summary>What was found and done; null until <see cref="EnsureLoadable"/> ran.</summary>
    public static NativeLoadReport? Report => _report;

    public static NativeLoadReport EnsureLoadable()
    {
        lock (Gate)
        {
            return _report ??= PatchBesideApplication(AppContext.BaseDirectory);
        }
    }

    /// <summary>Patches every copy of the library under <paramref name="root"/> (the app folder, its runtimes/ and cpu/ subfolders).</summary>
    public static NativeLoadReport PatchBesideApplication(string root)
    {
        if (!OperatingSystem.IsLinux())
            return new NativeLoadReport(SystemHasVersion: true, []);
        if (SystemLibStdCxxHasVersion(ElfVersionNeedPatcher.LibStdCxxVersion))
            return new NativeLoadReport(SystemHasVersion: true, []);

        var results = new List<PatchedLibrary>();
        foreach (var path in CandidatePaths(root))
        {
            ElfVersionNeedPatcher.Outcome outcome;
            try
            {
                outcome = ElfVersionNeedPatcher.PatchFile(path);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new InvalidOperationException(
                    $"{path} needs a one-flag patch to load on this system's libstdc++ but is read-only. " +
                    "Make the application folder writable or run a build there once.", ex);
            }
            results.Add(new PatchedLibrary(path, outcome));
        }
        return new NativeLoadReport(SystemHasVersion: false, results);
    }

    private static IEnumerable<string> CandidatePaths(string root)
    {
        // The loader probes the app root (RID-specific and published builds), runtimes/linux-x64/native
        // (portable builds) and cpu/ or cuda/ (where TorchSharp copies a fallback when the first load fails).
        string[] folders =
        [
            root,
            Path.Combine(root, "runtimes", "linux-x64", "native"),
            Path.Combine(root, "cpu"),
            Path.Combine(root, "cuda"),
        ];
        return folders.Select(f => Path.Combine(f, LibraryFileName)).Where(File.Exists);
    }

    /// <summary>True when the process's libstdc++ defines the version (checked with dlvsym on the one symbol that needs it).</summary>
    public static bool SystemLibStdCxxHasVersion(string version)
    {
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out var handle)) return false;
        try
        {
            return dlvsym(handle, "_ZSt21ios_base_library_initv", version) != IntPtr.Zero;
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern IntPtr dlvsym(IntPtr handle, string symbol, string version);
}

public sealed record PatchedLibrary(string Path, ElfVersionNeedPatcher.Outcome Outcome);

public sealed record NativeLoadReport(bool SystemHasVersion, IReadOnlyList<PatchedLibrary> Libraries)
{
    public override string ToString() => SystemHasVersion
        ? "system libstdc++ provides GLIBCXX_3.4.32; no patch needed"
        : Libraries.Count == 0
            ? "no libLibTorchSharp.so found beside the application"
            : string.Join("; ", Libraries.Select(l => $"{l.Outcome}: {l.Path}"));
}
