namespace RetailCam.Web.Api;

/// <summary>The content type of a photo the API serves, from the decoder's format name or a stored file's extension.</summary>
internal static class ImageContentTypes
{
    public static string OfFormat(string format) => format.ToUpperInvariant() switch
    {
        "PNG" => "image/png",
        "JPEG" or "JPG" => "image/jpeg",
        "GIF" => "image/gif",
        "WEBP" => "image/webp",
        "BMP" => "image/bmp",
        "TIFF" or "TIF" => "image/tiff",
        _ => "application/octet-stream",
    };

    public static string OfExtension(string extension) => OfFormat(extension.TrimStart('.'));
}
