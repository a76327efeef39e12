using System.Diagnostics;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;
using static TorchSharp.torch;

namespace RetailCam.Benchmarks;

/// <summary>Medians of each stage of upload → overlay, with the overlay capped as the server caps it and, beside, at the former 1024 px.</summary>
public sealed record LatencyStages(double DecodeMs, double PredictMs, double RenderMs, double EncodeMs, double UploadToOverlayAt1024Ms, int OverlayMaxSide);

public sealed record LatencyFigures(double UploadToOverlayMs, double ForwardMs, int PhotoWidth, int PhotoHeight, int Runs, LatencyStages? Stages = null)
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
    public static LatencyFigures Measure(Predictor predictor, PredictorOptions options, string modelFolder, byte[] upload, int runs)
    {
        var decoder = new ImageFileDecoder();
        using var loaded = ModelFolder.Load(modelFolder, predictor.Device);
        // The forward the predictor runs, on a copy prepared as it prepares its own: otherwise the server's
        // overhead would hide in (or be inflated by) a difference between two forward passes.
        Predictor.PrepareForServing(loaded.Network, options, options.UsesBFloat16);
        var size = predictor.InputSizeFor(loaded.Manifest);
        using var raw = rand(1, 3, size, size, device: predictor.Device) * 255f;
        using var input = options.ChannelsLast ? TensorLayout.ToChannelsLast(raw) : raw.alias();
        int width = 0, height = 0;

        var stages = new List<double>[4].Select(_ => new List<double>()).ToArray();

        double UploadToOverlay(int maxSide, bool record)
        {
            var start = Stopwatch.GetTimestamp();
            using var photo = decoder.Decode(upload, "upload.jpg");
            var decoded = Stopwatch.GetTimestamp();
            var prediction = predictor.PredictAsync(photo, "upload.jpg").GetAwaiter().GetResult();
            var predicted = Stopwatch.GetTimestamp();
            var (w, h) = ClassMapOverlay.TransparentSize(photo.Width, photo.Height, maxSide);
            using var overlay = ClassMapOverlay.RenderTransparent(prediction.Maps[0].ToHeatMap(), ColourMap.Jet, HeatMapAlpha.FromValue, 1f, w, h);
            var rendered = Stopwatch.GetTimestamp();
            var png = ClassMapOverlay.EncodePng(overlay);
            var end = Stopwatch.GetTimestamp();
            if (png.Length == 0) throw new InvalidOperationException("Empty overlay PNG.");
            (width, height) = (photo.Width, photo.Height);
            if (record)
            {
                stages[0].Add(Stopwatch.GetElapsedTime(start, decoded).TotalMilliseconds);
                stages[1].Add(Stopwatch.GetElapsedTime(decoded, predicted).TotalMilliseconds);
                stages[2].Add(Stopwatch.GetElapsedTime(predicted, rendered).TotalMilliseconds);
                stages[3].Add(Stopwatch.GetElapsedTime(rendered, end).TotalMilliseconds);
            }
            return Stopwatch.GetElapsedTime(start, end).TotalMilliseconds;
        }

        double Forward()
        {
            var start = Stopwatch.GetTimestamp();
            using (inference_mode())
            using (var scope = NewDisposeScope())
                loaded.Network.call(input);
            BenchDevice.Synchronize(predictor.Device);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        for (var i = 0; i < 3; i++) { UploadToOverlay(ClassMapOverlay.MaxTransparentSide, false); UploadToOverlay(1024, false); Forward(); }
        var latency = new List<double>();
        var latency1024 = new List<double>();
        var forward = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            latency.Add(UploadToOverlay(ClassMapOverlay.MaxTransparentSide, true));
            forward.Add(Forward());
            latency1024.Add(UploadToOverlay(1024, false));
        }
        var detail = new LatencyStages(BenchArithmetic.Median(stages[0]), BenchArithmetic.Median(stages[1]), BenchArithmetic.Median(stages[2]),
            BenchArithmetic.Median(stages[3]), BenchArithmetic.Median(latency1024), ClassMapOverlay.MaxTransparentSide);
        return new LatencyFigures(BenchArithmetic.Median(latency), BenchArithmetic.Median(forward), width, height, runs, detail);
    }

    /// <summary>A phone-sized photo as a camera would bring it: JPEG bytes (quality 90) of a synthetic shelf scene.</summary>
    public static byte[] SyntheticUpload(int width = 1024, int height = 768, int seed = 3)
    {
        using var scope = NewDisposeScope();
        using var square = RetailCam.Engine.Models.Import.SyntheticPhoto.Create(512, seed);
        using var image = ImageTensors.ToImage(square);
        image.Mutate(x => x.Resize(width, height));
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream, new SixLabors.ImageSharp.Formats.Jpeg.JpegEncoder { Quality = 90 });
        return stream.ToArray();
    }
}
