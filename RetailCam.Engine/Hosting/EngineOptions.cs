using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;

namespace RetailCam.Engine.Hosting;

/// <summary>Section "RetailCam" of appsettings.json; environment variables override it (RetailCam__DataRoot).</summary>
public sealed class EngineOptions
{
    public const string SectionName = "RetailCam";

    /// <summary>The one folder for all state: SQLite, uploads, models, demo data. Empty means the user's local data folder.</summary>
    public string DataRoot { get; set; } = "";

    /// <summary>auto picks CUDA when libtorch sees a GPU, else the CPU.</summary>
    [EnumDataType(typeof(DeviceChoice))]
    public DeviceChoice Device { get; set; } = DeviceChoice.Auto;

    /// <summary>libtorch intra-op threads; 0 means one per core.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Folder holding ResNet18.onnx and ResNetPreprocess.onnx; empty means the copy shipped beside the application.</summary>
    public string PretrainedFolder { get; set; } = "";

    /// <summary>Folders the web app may read datasets and photo folders from; empty means the data root alone.</summary>
    public string[] FolderRoots { get; set; } = [];

    public IReadOnlyList<string> ResolvedFolderRoots => FolderRoots.Length == 0 ? [ResolvedDataRoot] : FolderRoots;

    public string ResolvedDataRoot => string.IsNullOrWhiteSpace(DataRoot) ? DefaultDataRoot : Path.GetFullPath(DataRoot);

    public string ResolvedPretrainedFolder => string.IsNullOrWhiteSpace(PretrainedFolder)
        ? PretrainedResNet18Files.DefaultFolder
        : Path.GetFullPath(PretrainedFolder);

    public static string DefaultDataRoot
    {
        get
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create);
            if (string.IsNullOrEmpty(local))
                local = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
            return Path.Combine(local, "RetailCam");
        }
    }
}
