using System.Diagnostics;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using static TorchSharp.torch;

namespace RetailCam.Engine.Benchmarks;

public sealed record LatencyFigures(double UploadToOverlayMs, double ForwardMs, int PhotoWidth, int PhotoHeight, int Runs)
{
    /// <summary>What the server adds around the network: decode, resize, class map, colouring, PNG.</summary>
    public double OverheadMs => UploadToOverlayMs - ForwardMs;
}

/// <summary>
/// One uploaded photo, server side: bytes → decode → <see cref="Predictor.PredictAsync"/> (CAM of the
/// top class) → transparent overlay → PNG bytes, against the served network's own forward pass on
/// one 224² image. Medians of alternating runs.
/// </summary>
public static class LatencyBenchmark
{
    public static LatencyFigures Measure(Predictor predictor, string modelFolder, byte[] upload, int runs)
    {
        var decoder = new ImageFileDecoder();
        using var loaded = ModelFolder.Load(modelFolder);
        loaded.Network.eval();
        var size = loaded.Manifest.InputSize;
        using var input = rand(1, 3, size, size) * 255f;
        int width = 0, height = 0;

        double UploadToOverlay()
        {
            var start = Stopwatch.GetTimestamp();
            using var photo = decoder.Decode(upload, "upload.png");
            var prediction = predictor.PredictAsync(photo, "upload.png").GetAwaiter().GetResult();
            var map = prediction.Maps[0];
            using var overlay = ClassMapOverlay.RenderTransparent(map.ToHeatMap(), ColourMap.Jet, HeatMapAlpha.FromValue, 1f, photo.Width, photo.Height);
            var png = ClassMapOverlay.EncodePng(overlay);
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (png.Length == 0) throw new InvalidOperationException("Empty overlay PNG.");
            (width, height) = (photo.Width, photo.Height);
            return ms;
        }

        double Forward()
        {
            var start = Stopwatch.GetTimestamp();
            using (inference_mode())
            using (var scope = NewDisposeScope())
                loaded.Network.call(input);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        for (var i = 0; i < 3; i++) { UploadToOverlay(); Forward(); }
        var latency = new List<double>();
        var forward = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            latency.Add(UploadToOverlay());
            forward.Add(Forward());
        }
        return new LatencyFigures(BenchArithmetic.Median(latency), BenchArithmetic.Median(forward), width, height, runs);
    }

    /// <summary>A phone-sized photo as an upload would bring it: PNG bytes of a synthetic shelf scene.</summary>
    public static byte[] SyntheticUpload(int width = 1024, int height = 768, int seed = 3)
    {
        using var scope = NewDisposeScope();
        using var square = Models.Import.SyntheticPhoto.Create(512, seed);
        using var image = ImageTensors.ToImage(square);
        image.Mutate(x => x.Resize(width, height));
        using var stream = new MemoryStream();
        image.SaveAsPng(stream);
        return stream.ToArray();
    }
}
