using System.Text;
using RetailCam.Engine.Telemetry;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Tiff;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Engine.Imaging;

/// <summary>What the header of an image says, read without decoding any pixel.</summary>
/// <param name="MayHaveAlpha">False only where the header proves every pixel opaque (JPEG; PNG without an alpha channel or tRNS chunk; a format that says so).</param>
public sealed record ImageHeader(string Format, int Width, int Height, int BitsPerPixel, bool MayHaveAlpha = true)
{
    public long Pixels => (long)Width * Height;
}

/// <summary>
/// Turns untrusted bytes into an upright RGB image (<see cref="Rgb24"/>): JPEG, PNG, WebP, GIF
/// (first frame), BMP and TIFF; EXIF orientation applied; grey, 16-bit, CMYK and palette images
/// converted; transparency composited on white. The header is checked against
/// <see cref="ImagingOptions"/> before any pixel buffer exists. Thread-safe.
/// </summary>
public sealed class ImageFileDecoder
{
    /// <summary>File extensions the catalogue treats as images (lower case, with the dot).</summary>
    public static IReadOnlySet<string> ImageExtensions { get; } =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff" };

    // Only the formats we promise; a format ImageSharp knows beyond these (TGA, PBM) is reported
    // as unsupported rather than silently accepted, so the list of what works stays honest.
    private static readonly Configuration Supported = CreateSupportedConfiguration();

    private readonly ImagingOptions options;

    public ImageFileDecoder(ImagingOptions? options = null)
    {
        this.options = options ?? new ImagingOptions();
        // Hand-made options (tests, tools) get the same DataAnnotations check as the configured ones at start.
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(this.options, new(this.options), validateAllProperties: true);
    }

    public ImagingOptions Options => options;

    private static Configuration CreateSupportedConfiguration()
    {
        var configuration = new Configuration(
            new JpegConfigurationModule(),
            new PngConfigurationModule(),
            new WebpConfigurationModule(),
            new GifConfigurationModule(),
            new BmpConfigurationModule(),
            new TiffConfigurationModule());
        // Decoding every frame of an animation only to keep the first costs memory and time.
        configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { DecodingMode = FrameDecodingMode.First });
        configuration.ImageFormatsManager.SetDecoder(TiffFormat.Instance, new TiffDecoder { DecodingMode = FrameDecodingMode.First });
        return configuration;
    }

    /// <summary>Reads a file, refusing it before reading when it is over the byte limit.</summary>
    public Image<Rgb24> Decode(string path)
    {
        var bytes = ReadFile(path);
        return Decode(bytes, path);
    }

    /// <summary>Reads at most <see cref="ImagingOptions.MaxBytes"/> + 1 bytes from an upload.</summary>
    public async Task<Image<Rgb24>> DecodeAsync(Stream stream, string source, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > options.MaxBytes)
                throw TooManyBytes(source, buffer.Length, atLeast: true);
        }
        return Decode(buffer.ToArray(), source);
    }

    /// <summary>
    /// Reads only the start and the end of a file (header and end marker) and checks them against
    /// the limits, so scanning a folder of large photos does not read the photos.
    /// </summary>
    public ImageHeader Identify(string path)
    {
        var length = CheckedLength(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
            var tail = new byte[Math.Min(EndMarkerSearchLength, length)];
            stream.Seek(-tail.Length, SeekOrigin.End);
            stream.ReadExactly(tail);
            stream.Position = 0;
            IImageInfo? info;
            IImageFormat? format;
            try
            {
                info = Image.Identify(Supported, stream, out format);
            }
            catch (Exception ex) when (ex is not (OutOfMemoryException or IOException or UnauthorizedAccessException))
            {
                throw DamagedHeader(path, ex);
            }
            if (info is null || format is null)
            {
                var head = new byte[Math.Min(64, length)];
                stream.Position = 0;
                stream.ReadExactly(head);
                throw Unrecognised(head, path);
            }
            return CheckHeader(info, format, tail, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, ex);
        }
    }

    public ImageHeader Identify(ReadOnlySpan<byte> bytes, string source) => Identify(bytes.ToArray(), source);

    public ImageHeader Identify(byte[] bytes, string source)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
            throw new ImageDecodeException(ImageDecodeErrorKind.Empty, source, "the file is empty (0 bytes).");
        if (bytes.Length > options.MaxBytes)
            throw TooManyBytes(source, bytes.Length, atLeast: false);

        IImageInfo? info;
        IImageFormat? format;
        try
        {
            // Identify parses headers only; the pixel limits are checked before Load allocates.
            info = Image.Identify(Supported, bytes, out format);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw DamagedHeader(source, ex);
        }
        if (info is null || format is null)
            throw Unrecognised(bytes, source);
        var tail = bytes.AsSpan(Math.Max(0, bytes.Length - EndMarkerSearchLength));
        return CheckHeader(info, format, tail, source);
    }

    private ImageHeader CheckHeader(IImageInfo info, IImageFormat format, ReadOnlySpan<byte> tail, string source)
    {
        var header = new ImageHeader(format.Name, info.Width, info.Height, info.PixelType?.BitsPerPixel ?? 0, MayHaveAlpha(info, format));
        if (header.Width <= 0 || header.Height <= 0)
            throw new ImageDecodeException(ImageDecodeErrorKind.CorruptOrTruncated, source, $"the header claims an impossible size {header.Width} × {header.Height}.");
        if (header.Width > options.MaxSide || header.Height > options.MaxSide || header.Pixels > options.MaxPixels)
            throw new ImageDecodeException(ImageDecodeErrorKind.TooLarge, source,
                $"the image is {header.Width} × {header.Height} ({header.Pixels / 1e6:0.#} MP); the limit is {options.MaxPixels / 1e6:0.#} MP and {options.MaxSide} px per side.");
        if (!HasEndMarker(tail, format))
            throw new ImageDecodeException(ImageDecodeErrorKind.CorruptOrTruncated, source, $"the {format.Name} file is truncated (its end marker is missing).");
        return header;
    }

    private static bool MayHaveAlpha(IImageInfo info, IImageFormat format)
    {
        if (format == JpegFormat.Instance) return false;
        if (format == PngFormat.Instance)
        {
            var png = info.Metadata.GetPngMetadata();
            return png.HasTransparency || png.ColorType is null or PngColorType.RgbWithAlpha or PngColorType.GrayscaleWithAlpha or PngColorType.Palette;
        }
        return info.PixelType?.AlphaRepresentation is not PixelAlphaRepresentation.None;
    }

    private static ImageDecodeException DamagedHeader(string source, Exception ex) =>
        new(ImageDecodeErrorKind.CorruptOrTruncated, source, $"the image header is damaged ({ex.Message.TrimEnd('.')}).", ex);

    private static ImageDecodeException Unreadable(string path, Exception ex) =>
        new(ImageDecodeErrorKind.CorruptOrTruncated, path, $"the file cannot be read ({ex.Message.TrimEnd('.')}).", ex);

    public Image<Rgb24> Decode(byte[] bytes, string source)
    {
        using var span = EngineTelemetry.StartChild("retailcam.decode");
        var header = Identify(bytes, source);
        span?.SetTag("retailcam.image.format", header.Format);
        span?.SetTag("retailcam.image.pixels", header.Pixels);
        try
        {
            // An opaque image loads straight to RGB. Anything that may carry transparency is composited
            // on white, not dropped (dropping leaves black fringes); that path costs ten times as much,
            // which in a training loader's decode of catalogue PNGs is most of the loader's time.
            if (!header.MayHaveAlpha)
            {
                var rgb = Image.Load<Rgb24>(Supported, bytes);
                rgb.Mutate(x => x.AutoOrient());
                ClearFrames(rgb);
                return rgb;
            }
            using var rgba = Image.Load<Rgba32>(Supported, bytes);
            ClearFrames(rgba);
            rgba.Mutate(x => x.AutoOrient().BackgroundColor(Color.White));
            return rgba.CloneAs<Rgb24>();
        }
        catch (ImageDecodeException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new ImageDecodeException(ImageDecodeErrorKind.CorruptOrTruncated, source, $"the {header.Format} data is damaged or incomplete ({ex.Message.TrimEnd('.')}).", ex);
        }
    }

    private static void ClearFrames<TPixel>(Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
    {
        while (image.Frames.Count > 1)
            image.Frames.RemoveFrame(image.Frames.Count - 1);
    }

    private byte[] ReadFile(string path)
    {
        CheckedLength(path);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Unreadable(path, ex);
        }
    }

    /// <summary>The file's length, refusing missing, empty and oversized files before opening them.</summary>
    private long CheckedLength(string path)
    {
        FileInfo file;
        try
        {
            file = new FileInfo(path);
        }
        catch (Exception ex) when (ex is ArgumentException or PathTooLongException or NotSupportedException)
        {
            throw new ImageDecodeException(ImageDecodeErrorKind.NotAnImage, path, $"the path is not valid ({ex.Message.TrimEnd('.')}).", ex);
        }
        if (!file.Exists)
            throw new ImageDecodeException(ImageDecodeErrorKind.NotAnImage, path, "the file does not exist.");
        if (file.Length == 0)
            throw new ImageDecodeException(ImageDecodeErrorKind.Empty, path, "the file is empty (0 bytes).");
        if (file.Length > options.MaxBytes)
            throw TooManyBytes(path, file.Length, atLeast: false);
        return file.Length;
    }

    private ImageDecodeException TooManyBytes(string source, long length, bool atLeast) =>
        new(ImageDecodeErrorKind.TooLarge, source,
            $"the file is {(atLeast ? "over " : "")}{length / 1048576.0:0.#} MB; the limit is {options.MaxBytes / 1048576.0:0.#} MB.");

    private static ImageDecodeException Unrecognised(ReadOnlySpan<byte> bytes, string source)
    {
        var known = Image.DetectFormat(Configuration.Default, bytes);
        var other = known?.Name ?? KnownUnsupportedFormat(bytes);
        if (other is not null)
            return new ImageDecodeException(ImageDecodeErrorKind.UnsupportedFormat, source,
                $"{other} images are not supported; use JPEG, PNG, WebP, GIF, BMP or TIFF.");
        return new ImageDecodeException(ImageDecodeErrorKind.NotAnImage, source, "this is not an image (no known image header).");
    }

    // Formats people do upload, recognisable by their first bytes, that ImageSharp 2.1 cannot read.
    private static string? KnownUnsupportedFormat(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 12 && bytes.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(bytes.Slice(8, 4));
            return brand switch
            {
                "avif" or "avis" => "AVIF",
                "heic" or "heix" or "hevc" or "mif1" or "msf1" => "HEIC",
                _ => null,
            };
        }
        if (bytes.StartsWith("8BPS"u8)) return "Photoshop (PSD)";
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0x01, 0x00])) return "ICO";
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x0A]) || bytes.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20])) return "JPEG XL";
        return null;
    }

    // ImageSharp 2.1 decodes a JPEG that stops early without complaint, filling the rest with
    // grey (the truncation tests fail without this check); a training set must not learn from
    // half images, so the end marker must be there. PNG gets the same check for files cut right
    // after their last data chunk.
    // Searching only the tail keeps this O(1) in file size and allows a little trailing junk
    // (cameras append some); an EXIF thumbnail's own end marker lies far from the tail.
    private const int EndMarkerSearchLength = 4096;

    private static bool HasEndMarker(ReadOnlySpan<byte> end, IImageFormat format)
    {
        if (format.Name == PngFormat.Instance.Name)
            return end.IndexOf("IEND"u8) >= 0;
        if (format.Name == JpegFormat.Instance.Name)
            return end.IndexOf((ReadOnlySpan<byte>)[0xFF, 0xD9]) >= 0;
        return true;
    }
}
