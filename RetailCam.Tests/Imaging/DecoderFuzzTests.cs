using RetailCam.Engine.Imaging;

namespace RetailCam.Tests.Imaging;

/// <summary>A few hundred mutants in every run; `retailcam fuzz --iterations 10000` is the long run.</summary>
public class DecoderFuzzTests
{
    [Fact]
    public void Every_seed_is_a_valid_file_of_its_format()
    {
        var decoder = new ImageFileDecoder();
        var seeds = DecoderFuzzer.Seeds();
        Assert.Equal(["JPEG", "PNG", "GIF", "WebP", "WebP-lossless", "BMP", "TIFF"], seeds.Select(s => s.Format));
        foreach (var (format, bytes) in seeds)
        {
            using var image = decoder.Decode(bytes, "seed." + format);
            Assert.Equal((48, 32), (image.Width, image.Height));
        }
    }

    [Fact]
    public void Mutants_are_deterministic_for_a_seed_and_differ_from_their_seed()
    {
        var original = DecoderFuzzer.Seeds()[1].Bytes;
        var a = Enumerable.Range(0, 20).Select(_ => DecoderFuzzer.Mutate(original, new Random(7))).First();
        var b = DecoderFuzzer.Mutate(original, new Random(7));
        Assert.Equal(a, b);
        var random = new Random(3);
        Assert.True(Enumerable.Range(0, 50).Count(_ => !DecoderFuzzer.Mutate(original, random).AsSpan().SequenceEqual(original)) >= 45);
    }

    [Fact]
    public void Hundreds_of_mutated_photos_are_decoded_or_refused_with_a_reason_and_none_crashes()
    {
        var report = DecoderFuzzer.Run(new ImageFileDecoder(), iterations: 420, seed: 11);
        Assert.True(report.Crashes == 0, string.Join("\n", report.CrashSamples));
        Assert.Equal(420, report.Decoded + report.Refused.Values.Sum());
        // Both ends are reached: some mutants still decode, some are refused.
        Assert.InRange(report.Decoded, 1, 419);
    }
}
