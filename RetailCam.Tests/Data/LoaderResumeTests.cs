using RetailCam.Engine.Data;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp;

namespace RetailCam.Tests.Data;

public sealed class LoaderResumeTests : IDisposable
{
    private readonly string folder = TestImages.TempDirectory();

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void Skipping_batches_continues_the_same_epoch_order_without_the_skipped_ones()
    {
        var items = new List<LabelledImage>();
        for (var i = 0; i < 23; i++)
        {
            var path = Path.Combine(folder, $"img-{i:D2}.png");
            using (var image = TestImages.Solid(12, 12, (byte)(i * 10), 50, 90)) image.SaveAsPng(path);
            items.Add(new LabelledImage(path, i % 3));
        }
        var loader = new StreamingDataLoader(items, new DataLoaderOptions { BatchSize = 4, ImageSize = 16, Workers = 2, Seed = 3 }, augment: true);

        var whole = loader.ReadEpoch(epoch: 2).Select(b => { using (b) return b.Paths.ToList(); }).ToList();
        var resumed = loader.ReadEpoch(epoch: 2, skipBatches: 3).Select(b => { using (b) return b.Paths.ToList(); }).ToList();

        Assert.Equal(6, whole.Count);
        Assert.Equal(whole.Skip(3), resumed);
        Assert.Empty(loader.ReadEpoch(epoch: 2, skipBatches: 6));
    }
}
