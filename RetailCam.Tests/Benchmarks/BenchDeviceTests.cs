using RetailCam.Benchmarks;
using RetailCam.Engine.Models;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using RetailCam.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace RetailCam.Tests.Benchmarks;

public sealed class BenchDeviceTests
{
    // libtorch's meta device holds shapes and no data: a tensor the bench left on the CPU shows up there.
    private static readonly Device Meta = new(DeviceType.META);

    private static readonly TrainingOptions Tiny = new() { BatchSize = 2, ImageSize = 32 };

    public BenchDeviceTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    [Fact]
    public void The_peak_flops_matrices_are_made_on_the_device_in_the_precision_asked_for()
    {
        using var scope = NewDisposeScope();
        var (a, b) = PeakFlops.Operands(8, ScalarType.BFloat16, Meta);
        Assert.All([a, b], m =>
        {
            Assert.Equal(DeviceType.META, m.device_type);
            Assert.Equal(ScalarType.BFloat16, m.dtype);
            Assert.Equal([8L, 8L], m.shape);
        });
    }

    [Fact]
    public void The_bare_loop_moves_the_network_it_is_given_and_makes_its_batch_on_the_device()
    {
        var network = CamNetworkFactory.CreateNew(BackboneKind.ResNet18, 3, headHiddenChannels: 8);
        using var loop = new BareTrainingLoop(network, Tiny, classes: 3, Meta);

        ModelDeviceTests.AssertEverythingOn(Meta, network);
        Assert.Equal(DeviceType.META, loop.Batch.Images.device_type);
        Assert.Equal([2L, 3L, 32L, 32L], loop.Batch.Images.shape);
        Assert.Equal(DeviceType.META, loop.Batch.Labels.device_type);
        Assert.Equal([2L], loop.Batch.Labels.shape);
    }

    [Fact]
    public void The_bare_loop_trains_its_network_on_its_batch()
    {
        var network = CamNetworkFactory.CreateNew(BackboneKind.ResNet18, 3, headHiddenChannels: 8);
        using var loop = new BareTrainingLoop(network, Tiny, classes: 3, CPU);
        using var before = network.Head.parameters().First().detach().clone();

        Assert.Equal(Tiny.BatchSize, loop.Steps(1));

        var after = network.Head.parameters().First();
        Assert.False(before.allclose(after), "the head did not change: the optimiser holds other tensors than the network's");
    }

    [Fact]
    public void The_report_names_the_device_as_the_configuration_does()
    {
        Assert.Equal("cpu", TorchEnvironment.NameOf(CPU));
        Assert.Equal("cuda:0", TorchEnvironment.NameOf(new Device(DeviceType.CUDA)));
        Assert.Equal("cuda:1", TorchEnvironment.NameOf(new Device(DeviceType.CUDA, 1)));
        Assert.Equal("meta", TorchEnvironment.NameOf(Meta));
    }
}
