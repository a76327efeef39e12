using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Native;

namespace RetailCam.Engine.Inference;

public sealed class PredictorOptions : IValidatableObject
{
    public const string SectionName = "RetailCam:Inference";

    /// <summary>The smallest side that still leaves both backbones a class map (stride 16 or 32).</summary>
    public const int MinimumInputSize = 32;

    public const int MaximumInputSize = 1024;

    /// <summary>
    /// Side in pixels every photo is resized to for the network; 0 follows the model's manifest
    /// (<see cref="Models.Storage.ModelManifest.ServeSideFor"/>: the photo's own side within the
    /// training side and the serving side chosen after training).
    /// The network is fully convolutional up to global pooling, so a larger side gives a finer class
    /// map (side / 16 cells for ResNet18) and lets small products in a wide photo appear at the scale
    /// they were learnt at (docs/ARCHITECTURE.md, "Inference size").
    /// </summary>
    public int InputSize { get; set; }

    /// <summary>Why a side cannot be an <see cref="InputSize"/>, or null when it can: the one rule for configuration, the predictor and the CLI.</summary>
    public static string? InputSizeProblem(int side) =>
        side == 0 || side is >= MinimumInputSize and <= MaximumInputSize
            ? null
            : $"input size {side} px: use 0 (the model's own) or {MinimumInputSize}–{MaximumInputSize} px.";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (InputSizeProblem(InputSize) is { } problem) yield return new ValidationResult(problem, [nameof(InputSize)]);
    }

    /// <summary>Most photos in one forward pass.</summary>
    [Range(1, 256)] public int MaxBatch { get; set; } = 16;

    /// <summary>How long the first request of a batch waits for company, in milliseconds.</summary>
    [Range(0, 1000)] public int MaxWaitMilliseconds { get; set; } = 4;

    /// <summary>A level of the category path is filed under when its probability reaches this (<see cref="Prediction.FiledUnder"/>).</summary>
    [Range(0.0, 1.0)] public double PathConfidence { get; set; } = 0.5;

    /// <summary>A class gets boxes when its probability reaches this.</summary>
    [Range(0.0, 1.0)] public double BoxConfidence { get; set; } = 0.2;

    /// <summary>Box threshold as a fraction of the map's maximum (Zhou et al. use 0.2).</summary>
    [Range(0.0, 1.0)] public double BoxThreshold { get; set; } = Localisation.DefaultThresholdFraction;

    /// <summary>
    /// Feed the network channels-last (NHWC) tensors, straight from the decoder's interleaved pixels:
    /// oneDNN's NHWC convolutions are faster on CPU and the layout change on input is saved
    /// (see docs/BENCHMARKS.md for the side-by-side figures).
    /// </summary>
    public bool ChannelsLast { get; set; } = true;

    /// <summary>
    /// Fold each BatchNorm into the convolution before it in the served copies, as ONNX Runtime does
    /// when it loads a graph (same outputs to float rounding, one pass less per layer).
    /// </summary>
    public bool FoldBatchNorm { get; set; } = true;

    /// <summary>
    /// What computes the served forward pass: TorchSharp (libtorch), or ONNX Runtime on the model's own
    /// ONNX export (float32; class maps, boxes and probabilities are computed from its outputs the same way).
    /// </summary>
    [EnumDataType(typeof(InferenceRuntime))]
    public InferenceRuntime Runtime { get; set; } = InferenceRuntime.Torch;

    /// <summary>Number format of the served forward pass; every class-map method reads its activations.</summary>
    public InferencePrecision Precision { get; set; } = InferencePrecision.Auto;

    /// <summary>
    /// True when served copies compute in bfloat16: asked for, or automatic on a CPU with native bf16.
    /// Never with ONNX Runtime, which runs the export in float32.
    /// </summary>
    public bool UsesBFloat16 => Runtime == InferenceRuntime.Torch
        && (Precision == InferencePrecision.BFloat16 || (Precision == InferencePrecision.Auto && CpuFeatures.HasNativeBFloat16));

    /// <summary>
    /// Most models kept loaded at once (each holds its own weights): enough for a comparison across
    /// models; the least recently used one is let go when another is asked for.
    /// </summary>
    [Range(1, 32)] public int MaxLoadedModels { get; set; } = 4;
}

public enum InferenceRuntime
{
    /// <summary>TorchSharp's forward, in the layout and precision configured.</summary>
    Torch,

    /// <summary>ONNX Runtime on the model's ONNX export, float32 NCHW.</summary>
    OnnxRuntime,
}

public enum InferencePrecision
{
    Float32,

    /// <summary>bfloat16 backbone and head; worth it only where the CPU multiplies bf16 natively.</summary>
    BFloat16,

    /// <summary>bfloat16 where the CPU has native bf16 instructions (AVX512-BF16 or AMX), float32 elsewhere.</summary>
    Auto,
}
