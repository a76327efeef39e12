using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;

namespace RetailCam.Tests.Data;

public class CatalogueTests
{
    internal static void WritePng(string root, string relativePath, byte shade = 100, int size = 8)
    {
        var path = Path.Combine(root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = TestImages.Solid(size, size, shade, (byte)(255 - shade), 50);
        image.Save(path, new PngEncoder());
    }

    /// <summary>Good images in three categories, and every kind of bad file beside them.</summary>
    internal static string MixedFolder()
    {
        var root = TestImages.TempDirectory();
        WritePng(root, "Garments/Men/T-shirt/a.png");
        WritePng(root, "Garments/Men/T-shirt/b.png", 30);
        WritePng(root, "Garments/Women/Dress/c.png");
        WritePng(root, "Shoes/d.png");
        WritePng(root, "Shoes/.hidden.png");
        WritePng(root, ".cache/Shoes/e.png");
        File.WriteAllText(Path.Combine(root, "Shoes", "readme.txt"), "not an image, ignored");
        File.WriteAllBytes(Path.Combine(root, "Shoes", "empty.jpg"), []);
        File.WriteAllText(Path.Combine(root, "Garments/Men/T-shirt", "notes.jpg"), "text pretending to be a photo");
        File.WriteAllBytes(Path.Combine(root, "Garments/Women/Dress", "bomb.png"), ImageFileDecoderTests.PngWithHeaderOnly(100_000, 100_000));
        using var photo = TestImages.Coordinates(16, 16);
        var jpeg = TestImages.Encode(photo, new JpegEncoder());
        // Header intact, data cut: only a full decode (the loader) finds it.
        File.WriteAllBytes(Path.Combine(root, "Shoes", "cut.jpg"), jpeg[..(jpeg.Length - 40)]);
        return root;
    }

    [Fact]
    public void Folders_with_images_become_category_paths_and_bad_files_are_reported_not_fatal()
    {
        var catalogue = ImageCatalogue.Scan(MixedFolder());

        Assert.Equal(["Garments/Men/T-shirt", "Garments/Women/Dress", "Shoes"], catalogue.Categories);
        Assert.Equal(["Garments/Men/T-shirt/a.png", "Garments/Men/T-shirt/b.png", "Garments/Women/Dress/c.png", "Shoes/d.png"],
            catalogue.Entries.Select(e => e.RelativePath));
        Assert.Equal(2, catalogue.Entries.Single(e => e.RelativePath == "Shoes/d.png").ClassIndex);

        var skipped = catalogue.Skipped.ToDictionary(s => s.Path, s => s.Kind);
        Assert.Equal(ImageDecodeErrorKind.Empty, skipped["Shoes/empty.jpg"]);
        Assert.Equal(ImageDecodeErrorKind.NotAnImage, skipped["Garments/Men/T-shirt/notes.jpg"]);
        Assert.Equal(ImageDecodeErrorKind.TooLarge, skipped["Garments/Women/Dress/bomb.png"]);
        Assert.Equal(ImageDecodeErrorKind.CorruptOrTruncated, skipped["Shoes/cut.jpg"]); // its end marker is gone
        Assert.DoesNotContain(catalogue.Skipped, s => s.Path.Contains("hidden") || s.Path.Contains(".cache") || s.Path.EndsWith(".txt", StringComparison.Ordinal));
        Assert.All(catalogue.Skipped, s => Assert.False(string.IsNullOrWhiteSpace(s.Reason)));
    }

    [Fact]
    public void Images_in_the_root_have_no_category_and_are_reported()
    {
        var root = TestImages.TempDirectory();
        WritePng(root, "loose.png");
        WritePng(root, "Bags/x.png");
        var catalogue = ImageCatalogue.Scan(root);
        Assert.Equal(["Bags"], catalogue.Categories);
        Assert.Contains(catalogue.Skipped, s => s.Path == "loose.png");
    }

    [Fact]
    public void Folder_without_readable_images_is_a_clear_error()
    {
        var root = TestImages.TempDirectory();
        Directory.CreateDirectory(Path.Combine(root, "Empty"));
        File.WriteAllText(Path.Combine(root, "Empty", "x.png"), "nope");
        var error = Assert.Throws<InvalidDataException>(() => ImageCatalogue.Scan(root));
        Assert.Contains("No readable images", error.Message);
        Assert.Contains("x.png", error.Message);
    }
}
