using System.ComponentModel.DataAnnotations;

namespace RetailCam.Engine.Imaging;

/// <summary>
/// Limits and defaults for turning untrusted files into pixels. Bound from the configuration
/// section <c>RetailCam:Imaging</c>; crafted images are an attack surface, so the limits are
/// checked against the header before a single pixel is allocated.
/// </summary>
public sealed class ImagingOptions
{
    public const string SectionName = "RetailCam:Imaging";

    /// <summary>Largest file accepted, in bytes (default 20 MB).</summary>
    [Range(1, long.MaxValue)]
    public long MaxBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Largest decoded image accepted, in pixels (width × height, default 40 MP).</summary>
    [Range(1, long.MaxValue)]
    public long MaxPixels { get; set; } = 40_000_000;

    /// <summary>Largest width or height accepted, whatever the pixel count.</summary>
    [Range(1, 1_000_000)]
    public int MaxSide { get; set; } = 30_000;
}
