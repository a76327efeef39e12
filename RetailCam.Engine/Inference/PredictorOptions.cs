using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Cam;

namespace RetailCam.Engine.Inference;

public sealed class PredictorOptions
{
    public const string SectionName = "RetailCam:Inference";

    /// <summary>Most photos in one forward pass.</summary>
    [Range(1, 256)] public int MaxBatch { get; set; } = 16;

    /// <summary>How long the first request of a batch waits for company, in milliseconds.</summary>
    [Range(0, 1000)] public int MaxWaitMilliseconds { get; set; } = 4;

    /// <summary>A class gets boxes when its probability reaches this.</summary>
    [Range(0.0, 1.0)] public double BoxConfidence { get; set; } = 0.2;

    /// <summary>Box threshold as a fraction of the map's maximum (Zhou et al. use 0.2).</summary>
    [Range(0.0, 1.0)] public double BoxThreshold { get; set; } = Localisation.DefaultThresholdFraction;

    /// <summary>
    /// Feed the network channels-last (NHWC) tensors, straight from the decoder's interleaved pixels:
    /// oneDNN's NHWC convolutions are faster on CPU and the layout change on input is saved
    /// (see docs/BENCHMARKS.md for the side-by-side figures).
    /// </summary>
    public bool ChannelsLast { get; set; }
}
