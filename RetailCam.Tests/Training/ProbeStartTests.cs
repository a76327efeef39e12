using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using static TorchSharp.torch;

namespace RetailCam.Tests.Training;

public class ProbeStartTests
{
    public ProbeStartTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    [Fact]
    public void A_probe_started_head_computes_exactly_the_fitted_probe_on_the_pooled_features()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var features = rand(6, 4, 5, 5) * 3; // a trunk's features are ≥ 0
        var pooled = features.mean([2, 3]);
        var rows = pooled.data<float>().ToArray();
        var x = new float[6, 4];
        for (var i = 0; i < 6; i++) for (var d = 0; d < 4; d++) x[i, d] = rows[i * 4 + d];
        var labels = new[] { 0, 1, 2, 0, 1, 2 };
        var probe = LinearProbe.Fit(x, labels, classes: 3, l2: 1e-3, steps: 100, sigmoid: true);

        using var head = new CamHead(4, 4, 3);
        var (weights, bias) = probe.Folded();
        head.StartFromProbe(weights, bias);
        using var noGrad = no_grad();
        var logits = head.call(features).data<float>().ToArray();
        for (var i = 0; i < 6; i++)
        {
            var row = Enumerable.Range(0, 4).Select(d => x[i, d]).ToArray();
            var byHead = Array.IndexOf(logits.AsSpan(i * 3, 3).ToArray(), logits.AsSpan(i * 3, 3).ToArray().Max());
            Assert.Equal(probe.Predict(row), byHead);
            for (var c = 0; c < 3; c++)
            {
                double score = probe.Bias[c];
                for (var d = 0; d < 4; d++) score += (row[d] - probe.Mean[d]) / probe.Std[d] * probe.Weights[d * 3 + c];
                Assert.Equal(score, logits[i * 3 + c], 3);
            }
        }
        using var narrow = new CamHead(4, 8, 3);
        Assert.Throws<InvalidOperationException>(() => narrow.StartFromProbe(weights, bias));
    }
}
