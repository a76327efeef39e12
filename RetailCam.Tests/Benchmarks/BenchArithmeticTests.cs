using System.Text.Json;
using RetailCam.Benchmarks;
using RetailCam.Cli.Commands;

namespace RetailCam.Tests.Benchmarks;

public sealed class BenchArithmeticTests
{
    [Fact]
    public void Ratio_is_ours_over_reference_and_NaN_when_a_rate_is_missing()
    {
        Assert.Equal(1.25, BenchArithmetic.Ratio(50, 40), 12);
        Assert.True(double.IsNaN(BenchArithmetic.Ratio(50, 0)));
        Assert.True(double.IsNaN(BenchArithmetic.Ratio(0, 40)));
        Assert.True(double.IsNaN(BenchArithmetic.Ratio(double.NaN, 40)));
    }

    [Fact]
    public void Flop_figures_follow_two_flops_per_multiply_accumulate()
    {
        // 2048³ multiply-adds in 0.1 s: 2·2048³ / 0.1 / 1e9 ≈ 171.8 GFLOP/s.
        Assert.Equal(171.798691, BenchArithmetic.MatMulGflops(2048, 0.1), 5);
        // 100 ResNet18 images/s at 224² is 1.82 GMAC each: 364 GFLOP/s.
        Assert.Equal(364, BenchArithmetic.Gflops(100), 9);
        Assert.Equal(0.5, BenchArithmetic.Utilisation(182, 364), 12);
        Assert.Equal(1, BenchArithmetic.Utilisation(400, 364));
    }

    [Fact]
    public void Growth_and_overhead_are_percentages_of_the_base()
    {
        Assert.Equal(4, BenchArithmetic.GrowthPct(1000, 1040), 9);
        Assert.Equal(-2, BenchArithmetic.GrowthPct(1000, 980), 9);
        // 97 img/s with snapshots against 100 without: each image takes 100/97 − 1 ≈ 3.09 % longer.
        Assert.Equal(3.0927835, BenchArithmetic.OverheadPct(97, 100), 6);
        Assert.True(BenchArithmetic.OverheadPct(101, 100) < 0);
        // 0.3 s of snapshots in a 10.3 s window: 3 % on top of the 10 s without them.
        Assert.Equal(3, BenchArithmetic.ShareOverheadPct(0.3, 10.3), 9);
        Assert.True(double.IsNaN(BenchArithmetic.ShareOverheadPct(2, 1)));
    }

    [Fact]
    public void Interleaved_rates_are_all_images_over_all_seconds_of_the_timed_rounds()
    {
        var order = new List<string>();
        var rates = Interleaved.Measure(
        [
            new Contender("a", () => { order.Add("a"); return new RoundResult(10, 2); }),
            new Contender("b", () => { order.Add("b"); return new RoundResult(30, 1); }),
        ], rounds: 3, warmUpRounds: 1);

        Assert.Equal(5, rates["a"], 12);
        Assert.Equal(30, rates["b"], 12);
        // Warm-up a b, then a b / b a / a b: the order alternates so neither always follows the other.
        Assert.Equal(["a", "b", "a", "b", "b", "a", "a", "b"], order);
    }

    [Fact]
    public void Median_ratio_takes_ratios_within_rounds_so_one_slow_round_does_not_decide()
    {
        var round = 0;
        // Round 2 of contender a is hit by a neighbour's burst (a tenth of its speed).
        var result = Interleaved.MeasureRounds(
        [
            new Contender("a", () => new RoundResult(100, round++ == 1 ? 10 : 1)),
            new Contender("b", () => new RoundResult(50, 1)),
        ], rounds: 3, warmUpRounds: 0);

        Assert.Equal(2, result.MedianRatio("a", "b"), 12);
        Assert.True(result.Rates["a"] / result.Rates["b"] < 1);
    }

    [Fact]
    public void Report_json_has_every_key_of_the_issue_and_drops_pytorch_only_when_absent()
    {
        var report = SampleReport(pyTorch: 1.3);
        using var with = JsonDocument.Parse(JsonSerializer.Serialize(report, CliRunner.Json));
        string[] keys = ["inferenceVsOrt", "pipelineVsBareLoop", "trainingVsPyTorch", "snapshotOverheadPct", "flopUtilisation", "rssGrowthPct", "uploadToOverlayMs", "forwardMs", "catalogueVsBatchedForward"];
        foreach (var key in keys) Assert.True(with.RootElement.TryGetProperty(key, out _), key);
        Assert.Equal(1.3, with.RootElement.GetProperty("trainingVsPyTorch").GetDouble());
        Assert.True(with.RootElement.GetProperty("training").GetProperty("imagesPerSecond").TryGetProperty("bareLoop", out _));

        using var without = JsonDocument.Parse(JsonSerializer.Serialize(SampleReport(pyTorch: null), CliRunner.Json));
        Assert.False(without.RootElement.TryGetProperty("trainingVsPyTorch", out _));
        Assert.Contains("python3-torch", BenchMarkdown.Table(SampleReport(pyTorch: null)));
    }

    [Fact]
    public void Inference_ratio_is_the_same_network_in_the_predictor_layout_and_the_lower_batch()
    {
        var figures = new InferenceFigures(
        [
            new InferenceAtBatch(1, Rates(ort: 100, plain: 80, channelsLast: 120)),
            new InferenceAtBatch(16, Rates(ort: 100, plain: 90, channelsLast: 105)),
        ], 0.1, 0.01, 2);

        var plain = BenchRunner.DescribeInference(figures, channelsLast: false);
        var last = BenchRunner.DescribeInference(figures, channelsLast: true);

        Assert.Equal(0.8, plain.VsOrtPerBatch["batch1"], 12);
        Assert.Equal(1.05, last.VsOrtPerBatch.Values.Min(), 12);
        Assert.Equal(InferenceBenchmark.FeaturesChannelsLast, last.RatioContender);
        Assert.Equal(0.5, last.PredictorVsOrtPerBatch["batch1"], 12);
        // The serving runtimes: the predictor in ONNX Runtime over the predictor as configured.
        Assert.Equal(45.0 / 50, last.PredictorOnnxRuntimeVsTorchPerBatch!["batch16"], 12);
        Assert.Equal(45.0 / 40, plain.PredictorOnnxRuntimeVsTorchPerBatch!["batch1"], 12);
    }

    [Fact]
    public void Inference_ratios_are_the_median_of_the_rounds_ratios_with_their_spread()
    {
        // ORT is hit in round 2 (a burst slows it to half), ours in round 3: the totals would hide both.
        IReadOnlyDictionary<string, double> Round(double ort, double ours) => Rates(ort, plain: 50, channelsLast: ours);
        var figures = new InferenceFigures([new InferenceAtBatch(1, Rates(ort: 100, plain: 50, channelsLast: 100),
            [Round(100, 110), Round(50, 105), Round(100, 40), Round(100, 120), Round(100, 100)])], 0.1, 0.01, 2);

        var detail = BenchRunner.DescribeInference(figures, channelsLast: true);

        // Per-round ratios 1.1, 2.1, 0.4, 1.2, 1.0: median 1.1, lowest 0.4, highest 2.1.
        Assert.Equal(1.1, detail.VsOrtPerBatch["batch1"], 12);
        Assert.Equal(new RatioSpread(0.4, 1.1, 2.1, 5), detail.VsOrtSpreadPerBatch!["batch1"]);
        Assert.Equal(detail.VsOrtPerBatch["batch1"], detail.Fp32BestVsOrtPerBatch["batch1"], 12);
        Assert.Contains("batch1 1.10 (0.40–2.10 over 5 rounds)", BenchMarkdown.Table(SampleReport(null) with { Inference = detail }));
    }

    [Fact]
    public void A_spread_leaves_out_rounds_without_a_ratio()
    {
        Assert.Equal(new RatioSpread(0.9, 1.0, 1.2, 3), BenchArithmetic.Spread([1.2, double.NaN, 0.9, 1.0]));
        Assert.Equal(0, BenchArithmetic.Spread([double.NaN]).Rounds);
    }

    private static Dictionary<string, double> Rates(double ort, double plain, double channelsLast) => new()
    {
        [InferenceBenchmark.Ort] = ort,
        [InferenceBenchmark.Features] = plain,
        [InferenceBenchmark.FeaturesChannelsLast] = channelsLast,
        [InferenceBenchmark.PredictorDefault] = 40,
        [InferenceBenchmark.PredictorChannelsLast] = 50,
        [InferenceBenchmark.PredictorOnnxRuntime] = 45,
    };

    private static BenchReport SampleReport(double? pyTorch)
    {
        var inference = BenchRunner.DescribeInference(new InferenceFigures([new InferenceAtBatch(16, Rates(100, 90, 110))], 0.1, 0.01, 2), true);
        return new BenchReport
        {
            InferenceVsOrt = 1.1,
            PipelineVsBareLoop = 0.96,
            TrainingVsPyTorch = pyTorch,
            SnapshotOverheadPct = 1.5,
            FlopUtilisation = 0.4,
            RssGrowthPct = 0.5,
            UploadToOverlayMs = 40,
            ForwardMs = 15,
            CatalogueVsBatchedForward = 0.8,
            Catalogue = new CatalogueFigures([new CatalogueAtKind("png 256²", 0.8, new RatioSpread(0.7, 0.8, 0.9, 3),
                new Dictionary<string, double> { [CatalogueBenchmark.Catalogue] = 80, [CatalogueBenchmark.BatchedPredictions] = 100 }, 1.5)], 32, 3, 2),
            Inference = inference,
            Training = new TrainingDetail(new Dictionary<string, double> { [BenchRunner.Pipeline] = 96, [BenchRunner.Bare] = 100 }, [], 0.99, 2, 0.9, 1.0, 0.1, 64, 64, 50, 2, 1,
                pyTorch is null ? null : "1.13", pyTorch is null ? "no Python found that can `import torch` (apt-get install -y python3-torch)" : null),
            Flops = new FlopDetail(400, 1000, 2048, "x", 3.64, 500, 1000, 200, 0.4, "y"),
            Memory = new MemoryFigures(100, 300, 1_000_000, 1_005_000),
            Latency = new LatencyFigures(40, 15, 1024, 768, 10),
            Machine = new MachineDetail("cpu", 2, 2, "cpu", "linux", ".NET", "2.10", "1.31"),
            Quick = true,
            Seconds = 1,
        };
    }
}
