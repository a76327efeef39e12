using RetailCam.Engine.Models.Import;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

[Collection(PretrainedResNet18Collection.Name)]
public class ResNet18LeakTests(PretrainedResNet18Fixture fixture)
{
    [Fact]
    public void Repeated_forward_passes_without_an_outer_scope_leave_no_live_tensors_behind()
    {
        var model = fixture.Model;
        using var input = SyntheticPhoto.Create(64, seed: 5);
        using var noGrad = no_grad();

        void Pass()
        {
            // No scope here on purpose: whatever the modules do not dispose themselves stays alive.
            using var normalized = model.Normalization.call(input);
            using var camFeatures = model.Backbone.call(normalized);
            using var features = model.Features.call(normalized);
            var stages = model.Features.StageOutputs(normalized);
            foreach (var stage in stages) stage.Dispose();
        }

        Pass();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 20; i++) Pass();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
