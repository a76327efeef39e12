using System.Globalization;
using System.Text;

namespace RetailCam.Benchmarks;

/// <summary>A benchmark run as the Markdown table of docs/BENCHMARKS.md.</summary>
public static class BenchMarkdown
{
    public static string Table(BenchReport r)
    {
        var s = new StringBuilder();
        void Row(string figure, string value, string target, string detail) =>
            s.Append(CultureInfo.InvariantCulture, $"| {figure} | {value} | {target} | {detail} |\n");
        string F(double v, string format = "F2") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";
        string Rates(IReadOnlyDictionary<string, double> rates) => string.Join(", ", rates.Select(kv => $"{kv.Key} {F(kv.Value, "F1")}"));

        s.Append(CultureInfo.InvariantCulture, $"Machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, libtorch {r.Machine.LibTorch} on {r.Machine.TorchThreads} threads, device {r.Machine.Device}, {r.Machine.Os}, {r.Machine.Dotnet}. ");
        s.Append(CultureInfo.InvariantCulture, $"Run: {(r.Quick ? "--quick" : "full")}, {F(r.Seconds, "F0")} s.\n\n");
        s.Append("| Figure | Value | Target | Raw (images/s unless noted) |\n|---|---|---|---|\n");
        Row("inferenceVsOrt", F(r.InferenceVsOrt), "≥ 1.0", string.Join("; ", r.Inference.ImagesPerSecond.Select(b => $"{b.Key}: {Rates(b.Value)}")));
        Row("pipelineVsBareLoop", F(r.PipelineVsBareLoop), "≥ 0.95", Rates(r.Training.ImagesPerSecond) +
            $" (batch {r.Training.Batch} at {r.Training.ImageSize}², {r.Training.LoaderWorkers} loader worker(s); with {r.Training.OtherLoaderWorkers}: ×{F(r.Training.OtherLoaderWorkersVsDefault)}; median of per-round ratios over {r.Training.Rounds} rounds" +
            (r.Training.PipelineVsBareLoopSpread is { } spread ? $", {F(spread.Min)}–{F(spread.Max)}" : "") +
            (r.Training.PipelineNoCacheVsBareLoop is { } noCache ? $"; decoded-photo cache {r.Training.CachedPhotos} photos, {r.Training.CachedBytes / 1e6:F0} MB; without it: {F(noCache)}" : "") + ")");
        Row("trainingVsPyTorch", r.TrainingVsPyTorch is { } py ? F(py) : "absent", "≥ 1.0", r.Training.PyTorchVersion is { } v ? $"PyTorch {v}, bare loop vs PyTorch eager" : r.Training.PyTorchMissingReason ?? "");
        Row("snapshotOverheadPct", F(r.SnapshotOverheadPct, "F1"), "≤ 3", $"snapshot time ({F(r.Training.SnapshotSeconds, "F2")} s, every {r.Training.StepsPerRound} steps) over the pipeline's timed steps; from throughput with/without snapshots: {F(r.Training.SnapshotOverheadFromThroughputPct, "F1")} %");
        Row("flopUtilisation", F(r.FlopUtilisation), "≥ 0.60", $"{F(r.Flops.AchievedGflops, "F0")} GFLOP/s ({r.Flops.Contender}) of {F(r.Flops.PeakGflops, "F0")} GFLOP/s ({r.Flops.MatMulSize}² matmul, same precision); fp32: {F(r.Flops.Fp32AchievedGflops, "F0")} ({r.Flops.Fp32Contender}) of {F(r.Flops.Fp32PeakGflops, "F0")} = {F(r.Flops.Fp32Utilisation)}; bf16 peak {F(r.Flops.Bf16PeakGflops, "F0")}");
        Row("rssGrowthPct", F(r.RssGrowthPct, "F1"), "< 5", $"{r.Memory.FirstBytes / 1e6:F0} MB at step {r.Memory.FirstStep} → {r.Memory.LastBytes / 1e6:F0} MB at step {r.Memory.LastStep}");
        Row("uploadToOverlayMs", F(r.UploadToOverlayMs, "F1"), "≤ forward + 30", $"{r.Latency.PhotoWidth}×{r.Latency.PhotoHeight} JPEG upload, median of {r.Latency.Runs}" +
            (r.Latency.Stages is { } st ? $": decode {F(st.DecodeMs, "F1")}, predict {F(st.PredictMs, "F1")}, render {F(st.RenderMs, "F1")}, PNG {F(st.EncodeMs, "F1")} ms (overlay ≤ {st.OverlayMaxSide} px; at ≤ 1024 px: {F(st.UploadToOverlayAt1024Ms, "F1")} ms)" : ""));
        Row("forwardMs", F(r.ForwardMs, "F1"), "", "served CAM network, one 224² image");
        Row("catalogueVsBatchedForward", F(r.CatalogueVsBatchedForward), "≥ 0.90", string.Join("; ", r.Catalogue.Kinds.Select(k =>
            $"{k.Kind} ({F(k.DecodeMs, "F1")} ms to decode): {Rates(k.ImagesPerSecond)}, ratio {F(k.CatalogueVsBatchedPredictions)} ({F(k.Spread.Min)}–{F(k.Spread.Max)})")) + $" ({r.Catalogue.Photos} photos × {r.Catalogue.Rounds} rounds, {r.Catalogue.DecodeWorkers} decode threads; the lower kind)");
        string WithSpread(IReadOnlyDictionary<string, double> medians, IReadOnlyDictionary<string, RatioSpread>? spreads) => string.Join(", ", medians.Select(kv =>
            spreads?.GetValueOrDefault(kv.Key) is { Rounds: > 1 } spread ? $"{kv.Key} {F(kv.Value)} ({F(spread.Min)}–{F(spread.Max)} over {spread.Rounds} rounds)" : $"{kv.Key} {F(kv.Value)}"));
        s.Append(CultureInfo.InvariantCulture, $"\nSame-network ratio per batch, median of the rounds: {WithSpread(r.Inference.VsOrtPerBatch, r.Inference.VsOrtSpreadPerBatch)}; ");
        s.Append(CultureInfo.InvariantCulture, $"predictor (CAM network, end to end) vs ORT: {string.Join(", ", r.Inference.PredictorVsOrtPerBatch.Select(kv => $"{kv.Key} {F(kv.Value)}"))}. ");
        if (r.Inference.PredictorOnnxRuntimeVsTorchPerBatch is { Count: > 0 } runtimes)
            s.Append(CultureInfo.InvariantCulture, $"predictor served by ONNX Runtime vs as configured: {string.Join(", ", runtimes.Select(kv => $"{kv.Key} {F(kv.Value)}"))}. ");
        s.Append(CultureInfo.InvariantCulture, $"best fp32 layout vs ORT: {WithSpread(r.Inference.Fp32BestVsOrtPerBatch, r.Inference.Fp32BestVsOrtSpreadPerBatch)}. ");
        s.Append(CultureInfo.InvariantCulture, $"bf16 accuracy: 512-d features max |diff| {F(r.Inference.Bf16FeatureMaxAbsDiff, "G3")}, relative L2 error {F(r.Inference.Bf16FeatureRelativeError, "G3")}; ");
        s.Append(CultureInfo.InvariantCulture, $"predictor probabilities max |diff| {F(r.Inference.Bf16PredictorMaxProbabilityDiff, "G3")}, top-1 agreement {F(r.Inference.Bf16PredictorTop1Agreement)}.\n");
        return s.ToString();
    }
}
