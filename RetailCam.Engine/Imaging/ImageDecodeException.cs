namespace RetailCam.Engine.Imaging;

public enum ImageDecodeErrorKind
{
    /// <summary>The bytes are not an image at all (text, archive, …).</summary>
    NotAnImage,
    /// <summary>An image, but in a format we do not read (HEIC, TGA, PSD, …).</summary>
    UnsupportedFormat,
    /// <summary>The header or the data is damaged, or the file ends early.</summary>
    CorruptOrTruncated,
    /// <summary>Over the configured byte or pixel limits.</summary>
    TooLarge,
    /// <summary>Zero bytes.</summary>
    Empty,
}

/// <summary>
/// Why a file could not be turned into pixels, in words a user understands. Decoding never lets
/// an exception from inside the codec escape: it is always wrapped in this type.
/// </summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeErrorKind Kind { get; }

    /// <summary>The file name or other label the bytes came from.</summary>
    public string SourceName { get; }

    public ImageDecodeException(ImageDecodeErrorKind kind, string source, string reason, Exception? inner = null)
        : base($"{source}: {reason}", inner)
    {
        Kind = kind;
        SourceName = source;
        Reason = reason;
    }

    /// <summary>The message without the source, for tables that show the path separately.</summary>
    public string Reason { get; }
}
