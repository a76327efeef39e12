using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RetailCam.Engine.Hosting;
using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Engine.Layout;
using RetailCam.Engine.Native;
using RetailCam.Engine.Training;
using RetailCam.Tests.Models;

namespace RetailCam.Tests.Hosting;

/// <summary>AddRetailCamEngine as every entry point calls it: what it registers, from which settings, and what it refuses at start.</summary>
public class EngineHostTests
{
    private static IHost Build(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        builder.AddRetailCamEngine();
        return builder.Build();
    }

    [Fact]
    public void The_configured_device_is_the_one_the_registered_predictor_serves_on()
    {
        using var host = Build(("RetailCam:Device", "cpu"), ("RetailCam:DataRoot", Path.GetTempPath()));
        var torch = host.Services.GetRequiredService<TorchEnvironment>();
        var predictor = host.Services.GetRequiredService<Predictor>();

        Assert.Equal(TorchSharp.DeviceType.CPU, torch.Device.type);
        Assert.Same(torch.Device, predictor.Device);
    }

    [Fact]
    public void Every_section_is_bound_from_configuration()
    {
        using var folder = new TemporaryFolder();
        using var host = Build(
            ("RetailCam:DataRoot", folder.Path),
            ("RetailCam:Imaging:MaxPixels", "1234"),
            ("RetailCam:Inference:InputSize", "224"),
            ("RetailCam:Training:Epochs", "7"),
            ("RetailCam:Training:TimeBudget", "00:05:00"));
        host.Services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(folder.Path, host.Services.GetRequiredService<DataRootLayout>().Root);
        Assert.Equal(1234, host.Services.GetRequiredService<ImageFileDecoder>().Options.MaxPixels);
        Assert.Equal(224, host.Services.GetRequiredService<IOptions<PredictorOptions>>().Value.InputSize);
        var training = host.Services.GetRequiredService<IOptions<TrainingSettings>>().Value;
        Assert.Equal(7, training.Epochs);
        Assert.Equal(TimeSpan.FromMinutes(5), training.TimeBudget);
        // What configuration leaves unset stays for the planner to choose.
        Assert.Null(training.BatchSize);
    }

    [Theory]
    [InlineData("RetailCam:Threads", "-1", "Threads")]
    [InlineData("RetailCam:Imaging:MaxBytes", "0", "MaxBytes")]
    [InlineData("RetailCam:Inference:InputSize", "8", "input size 8")]
    [InlineData("RetailCam:Inference:BoxThreshold", "1.5", "BoxThreshold")]
    [InlineData("RetailCam:Training:BatchSize", "0", "BatchSize")]
    [InlineData("RetailCam:Training:LearningRate", "100", "LearningRate")]
    [InlineData("RetailCam:Training:TimeBudget", "-00:01:00", "time budget")]
    public void An_invalid_setting_is_refused_at_start_naming_it(string key, string value, string named)
    {
        using var host = Build((key, value), ("RetailCam:DataRoot", Path.GetTempPath()));
        var refused = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(refused.Failures, f => f.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public void Training_settings_a_run_is_given_are_checked_with_the_same_attributes()
    {
        Assert.Empty(new TrainingOptions().Problems());
        var problems = new TrainingOptions { BatchSize = TrainingOptions.MaxBatchSize + 1, ImageSize = TrainingOptions.MinImageSize - 1 }.Problems();
        Assert.Equal(2, problems.Count);
        Assert.Throws<ArgumentException>(() => new TrainingOptions { Epochs = 0 }.EnsureValid());
    }
}
