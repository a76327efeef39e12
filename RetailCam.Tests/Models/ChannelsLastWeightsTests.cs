using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using static TorchSharp.torch;

namespace RetailCam.Tests.Models;

public class ChannelsLastWeightsTests
{
    [Fact]
    public void Weights_stored_channels_last_keep_their_values_and_the_networks_output()
    {
        TorchRuntime.Initialize(DeviceChoice.Cpu, 0);
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        using var network = CamNetworkFactory.CreateNew(BackboneKind.Vgg16, 3, headHiddenChannels: 8, backboneWidth: 0.0625);
        network.eval();
        var input = (rand(2, 3, 48, 48) * 255).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        Tensor before;
        using (no_grad()) before = network.call(input);
        Assert.False(ChannelsLastWeights.AreApplied(network));

        ChannelsLastWeights.Apply(network);

        Assert.True(ChannelsLastWeights.AreApplied(network));
        using (no_grad())
        {
            var after = network.call(input);
            Assert.True(after.allclose(before, rtol: 1e-4, atol: 1e-4), $"max |diff| {(after - before).abs().max().item<float>()}");
        }
    }
}
