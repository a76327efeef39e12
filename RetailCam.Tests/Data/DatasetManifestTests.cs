using RetailCam.Engine.Data;
using RetailCam.Tests.Imaging;

namespace RetailCam.Tests.Data;

public class DatasetManifestTests
{
    [Fact]
    public void The_version_names_exactly_the_photos_and_their_bytes_and_says_what_changed()
    {
        var root = TestImages.TempDirectory();
        for (var i = 0; i < 6; i++) CatalogueTests.WritePng(root, $"C{i % 2}/{i}.png", (byte)(i * 30));
        var first = DatasetManifest.Of(ImageCatalogue.Scan(root));
        Assert.Equal(6, first.Files);
        Assert.Equal(64, first.Version.Length);
        Assert.Equal(first.Version, DatasetManifest.Of(ImageCatalogue.Scan(root)).Version);

        // A copy elsewhere with the same tree is the same version: it names paths from the root, not the disk.
        var copy = TestImages.TempDirectory();
        foreach (var file in Directory.GetFiles(root, "*.png", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(root, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Assert.Equal(first.Version, DatasetManifest.Of(ImageCatalogue.Scan(copy)).Version);

        CatalogueTests.WritePng(root, "C0/new.png", 7);
        File.Delete(Path.Combine(root, "C1", "1.png"));
        CatalogueTests.WritePng(root, "C0/0.png", 99);
        Directory.CreateDirectory(Path.Combine(root, "C2"));
        File.Move(Path.Combine(root, "C1", "3.png"), Path.Combine(root, "C2", "3.png"));
        var second = DatasetManifest.Of(ImageCatalogue.Scan(root));
        Assert.NotEqual(first.Version, second.Version);
        var (added, removed, changed) = second.Since(first);
        Assert.Equal(["C0/new.png", "C2/3.png"], added);
        Assert.Equal(["C1/1.png", "C1/3.png"], removed);
        Assert.Equal(["C0/0.png"], changed);

        var saved = Path.Combine(TestImages.TempDirectory(), DatasetManifest.FileName);
        second.Save(saved);
        Assert.Equal(second.Version, DatasetManifest.Load(saved)!.Version);
        Assert.Equal(second.Entries, DatasetManifest.Load(saved)!.Entries);
        Assert.Null(DatasetManifest.Load(saved + ".missing"));
    }
}
