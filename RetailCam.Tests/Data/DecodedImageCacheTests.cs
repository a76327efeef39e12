using RetailCam.Engine.Data;
using RetailCam.Engine.Imaging;
using RetailCam.Tests.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace RetailCam.Tests.Data;

public sealed class DecodedImageCacheTests
{
    private static byte[] PixelsOf(Image<Rgb24> image)
    {
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return pixels;
    }

    [Fact]
    public void A_cached_photo_is_the_decoded_photo_and_each_caller_gets_a_copy_of_its_own()
    {
        var (_, good) = StreamingDataLoaderTests.GoodImages(3);
        var decoder = new ImageFileDecoder();
        var cache = new DecodedImageCache(1 << 20);

        using var first = cache.Decode(decoder, good[0].Path);
        using var reference = decoder.Decode(good[0].Path);
        Assert.Equal(PixelsOf(reference), PixelsOf(first));
        // The first caller changes its copy: the next one still gets the photo as decoded.
        first.Mutate(x => x.Invert());
        using var second = cache.Decode(decoder, good[0].Path);
        Assert.Equal(PixelsOf(reference), PixelsOf(second));
        Assert.Equal((1L, 1L), (cache.Hits, cache.Misses));
        Assert.Equal(8 * 8 * 3, cache.Bytes);
    }

    [Fact]
    public void Photos_are_kept_until_the_budget_is_full_and_the_rest_are_decoded_every_time()
    {
        var (_, good) = StreamingDataLoaderTests.GoodImages(5);
        var decoder = new ImageFileDecoder();
        // Room for two 8×8 photos and a half.
        var cache = new DecodedImageCache(8 * 8 * 3 * 5 / 2);

        for (var pass = 0; pass < 3; pass++)
            foreach (var item in good)
                cache.Decode(decoder, item.Path).Dispose();

        Assert.Equal(2, cache.Count);
        Assert.True(cache.Bytes <= cache.BudgetBytes);
        // The two kept ones hit on passes 2 and 3; the other three miss every time.
        Assert.Equal(2 * 2, cache.Hits);
        Assert.Equal(2 + 3 * 3, cache.Misses);
    }

    [Fact]
    public void An_unreadable_file_is_refused_every_time_and_never_kept()
    {
        var root = TestImages.TempDirectory();
        var bad = Path.Combine(root, "bad.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var cache = new DecodedImageCache(1 << 20);

        Assert.Throws<ImageDecodeException>(() => cache.Decode(new ImageFileDecoder(), bad));
        Assert.Throws<ImageDecodeException>(() => cache.Decode(new ImageFileDecoder(), bad));
        Assert.Equal((0, 0L), (cache.Count, cache.Bytes));
    }

    [Fact]
    public void A_loader_with_a_cache_gives_the_same_batches_as_without_and_decodes_each_photo_once()
    {
        var (_, good) = StreamingDataLoaderTests.GoodImages(10);
        var cache = new DecodedImageCache(1 << 20);
        byte[][] Read(StreamingDataLoader loader, int epoch) => loader.ReadEpoch(epoch).Select(b =>
        {
            using (b) return b.Pixels.ToArray();
        }).ToArray();

        var plain = new StreamingDataLoader(good, StreamingDataLoaderTests.Options(batch: 3), augment: true);
        var cached = new StreamingDataLoader(good, StreamingDataLoaderTests.Options(batch: 3), augment: true, cache: cache);
        for (var epoch = 0; epoch < 3; epoch++) Assert.Equal(Read(plain, epoch), Read(cached, epoch));

        Assert.Equal(10, cache.Misses);
        Assert.Equal(20, cache.Hits);
    }
}
