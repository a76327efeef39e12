using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Imaging;

/// <summary>Brings an image to a target size by one of the <see cref="FitMode"/>s; the source is not changed.</summary>
public static class ImageFitter
{
    /// <summary>Letterbox padding: mid grey keeps padded borders close to the data mean, so they add no edge signal.</summary>
    public static Rgb24 DefaultPad { get; } = new(128, 128, 128);

    public static Image<Rgb24> Fit(Image<Rgb24> source, int width, int height, FitMode mode, Rgb24? pad = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        switch (mode)
        {
            case FitMode.Stretch:
                return source.Clone(x => x.Resize(width, height));
            case FitMode.CentreCrop:
                return source.Clone(x => x.Resize(new ResizeOptions
                {
                    Size = new Size(width, height),
                    Mode = ResizeMode.Crop,
                    Position = AnchorPositionMode.Center,
                }));
            case FitMode.Letterbox:
            {
                var scale = Math.Min((double)width / source.Width, (double)height / source.Height);
                var innerWidth = Math.Clamp((int)Math.Round(source.Width * scale), 1, width);
                var innerHeight = Math.Clamp((int)Math.Round(source.Height * scale), 1, height);
                using var inner = source.Clone(x => x.Resize(innerWidth, innerHeight));
                var canvas = new Image<Rgb24>(width, height, pad ?? DefaultPad);
                canvas.Mutate(x => x.DrawImage(inner, new Point((width - innerWidth) / 2, (height - innerHeight) / 2), 1f));
                return canvas;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown fit mode.");
        }
    }
}
