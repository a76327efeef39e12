using RetailCam.Cli.Commands;
using RetailCam.Engine.Data;
using RetailCam.Engine.Inference;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Cli.Load;

/// <summary>
/// The photos `load` sends, held as bytes: the client decodes nothing, so its own CPU goes to sending
/// and the server does all the work a real upload costs (decode, resize, forward, class maps).
/// </summary>
internal static class LoadPhotos
{
    /// <summary>At most this many photos are read from a folder (the first, in path order), and at most this many bytes in all.</summary>
    public const int MaxPhotos = 1000;
    public const long MaxTotalBytes = 256L * 1024 * 1024;

    /// <summary>The image files under <paramref name="folder"/> and its sub-folders, as the catalogue verb finds them.</summary>
    public static IReadOnlyList<(string FileName, byte[] Bytes)> FromFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new UsageException($"--photos: there is no folder '{folder}'.");
        var photos = new List<(string, byte[])>();
        long total = 0;
        foreach (var path in FileCategoriser.FindImages(folder).Take(MaxPhotos))
        {
            var size = new FileInfo(path).Length;
            if (total + size > MaxTotalBytes) break;
            photos.Add((Path.GetFileName(path), File.ReadAllBytes(path)));
            total += size;
        }
        if (photos.Count == 0) throw new UsageException($"--photos: '{folder}' holds no image files.");
        return photos;
    }

    /// <summary>
    /// Photos made on the spot when no folder is given: a product-coloured block on each kind of shop
    /// background, as JPEGs of a phone-photo side, so decoding costs what a real upload's does.
    /// The same every time.
    /// </summary>
    public static IReadOnlyList<(string FileName, byte[] Bytes)> Generated(int count = 8, int width = 640, int height = 480)
    {
        var random = new Random(11);
        var encoder = new JpegEncoder { Quality = 85 };
        var photos = new List<(string, byte[])>(count);
        for (var i = 0; i < count; i++)
        {
            using var photo = SceneBackgrounds.Create(width, height, random);
            var (w, h) = (width / 4 + random.Next(width / 3), height / 4 + random.Next(height / 3));
            using var product = new Image<Rgb24>(w, h, SceneBackgrounds.RandomColour(random));
            photo.Mutate(c => c.DrawImage(product, new Point(random.Next(width - w), random.Next(height - h)), 1f));
            using var stream = new MemoryStream();
            photo.Save(stream, encoder);
            photos.Add(($"generated-{i + 1}.jpg", stream.ToArray()));
        }
        return photos;
    }
}
