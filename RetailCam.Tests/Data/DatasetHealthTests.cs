using RetailCam.Engine.Data;
using RetailCam.Tests.Imaging;

namespace RetailCam.Tests.Data;

public class DatasetHealthTests
{
    [Fact]
    public void A_photo_filed_twice_a_tiny_one_a_broken_one_and_thin_categories_are_all_reported()
    {
        var root = TestImages.TempDirectory();
        for (var i = 0; i < 24; i++) CatalogueTests.WritePng(root, $"Shoes/{i}.png", (byte)i, size: 40);
        for (var i = 0; i < 5; i++) CatalogueTests.WritePng(root, $"Bags/{i}.png", (byte)(100 + i), size: 40);
        // The same bytes under two categories, and twice in one.
        File.Copy(Path.Combine(root, "Shoes", "3.png"), Path.Combine(root, "Bags", "copy-of-shoe.png"));
        File.Copy(Path.Combine(root, "Shoes", "4.png"), Path.Combine(root, "Shoes", "again.png"));
        CatalogueTests.WritePng(root, "Bags/tiny.png", 200, size: 8);
        File.WriteAllBytes(Path.Combine(root, "Bags", "broken.png"), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]);

        var report = DatasetHealth.Check(root);

        Assert.Equal(24 + 1 + 5 + 1 + 1 + 1, report.Photos);
        Assert.Equal(["Bags"], report.SmallCategories);
        Assert.Equal(25.0 / 8, report.Imbalance, 3);
        Assert.Equal(2, report.Duplicates.Count);
        var across = report.Duplicates[0];
        Assert.True(across.AcrossCategories);
        Assert.Equal(["Bags/copy-of-shoe.png", "Shoes/3.png"], across.Paths);
        Assert.False(report.Duplicates[1].AcrossCategories);
        Assert.Equal(["Bags/broken.png", "Bags/tiny.png"], report.Unusable.Select(u => u.Path).Order());
        Assert.All(report.Unusable, u => Assert.False(string.IsNullOrWhiteSpace(u.Reason)));
        Assert.False(report.Healthy);
    }

    [Fact]
    public void An_even_clean_dataset_is_healthy()
    {
        var root = TestImages.TempDirectory();
        for (var i = 0; i < 40; i++) CatalogueTests.WritePng(root, $"C{i % 2}/{i}.png", (byte)(i * 5), size: 40);
        var report = DatasetHealth.Check(root);
        Assert.True(report.Healthy, string.Join("; ", report.Unusable.Select(u => u.Reason)));
        Assert.Equal(1, report.Imbalance);
    }
}
