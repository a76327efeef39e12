using static TorchSharp.torch;

namespace RetailCam.Engine.Models;

/// <summary>
/// The preprocessing of a <see cref="PreprocessingSpec"/> as the network's first layer, so that
/// every caller feeds the same thing (RGB float 0–255) and normalisation runs as tensor ops.
/// The mean image, where used, is a registered buffer and so travels with the weights.
/// </summary>
public sealed class InputNormalization : nn.Module<Tensor, Tensor>
{
    private const string MeanBuffer = "mean", InverseStdBuffer = "inverse_std";

    private readonly float scale;
    private readonly bool swapToBgr;

    public PreprocessingSpec Spec { get; }

    /// <param name="meanImage">[3,H,W] in the spec's channel order, required when the spec uses a mean image.</param>
    public InputNormalization(PreprocessingSpec spec, Tensor? meanImage = null) : base(nameof(InputNormalization))
    {
        Spec = spec;
        scale = spec.Scale;
        swapToBgr = spec.ChannelOrder == "BGR";
        Tensor mean, inverseStd;
        if (spec.UsesMeanImage)
        {
            if (meanImage is null || meanImage.dim() != 3 || meanImage.shape[0] != 3)
                throw new ArgumentException("This preprocessing needs a [3,H,W] mean image.", nameof(meanImage));
            mean = meanImage.unsqueeze(0).to_type(ScalarType.Float32).detach();
        }
        else
        {
            mean = tensor(spec.Mean).reshape(1, 3, 1, 1);
        }
        inverseStd = tensor(spec.Std.Select(s => 1f / s).ToArray()).reshape(1, 3, 1, 1);
        // The module owns its buffers: built inside a caller's dispose scope (one per request), they
        // would otherwise be freed when that scope ends and the network would fail on its next call.
        mean.DetachFromDisposeScope();
        inverseStd.DetachFromDisposeScope();
        register_buffer(MeanBuffer, mean);
        register_buffer(InverseStdBuffer, inverseStd, persistent: false);
    }

    /// <summary>[1,3,1,1] channel means, or the [1,3,H,W] mean image that <see cref="forward"/> resizes bilinearly to the input.</summary>
    public Tensor Mean => get_buffer(MeanBuffer)!;

    /// <summary>[1,3,1,1] reciprocals of the standard deviations, multiplied rather than divided by.</summary>
    public Tensor InverseStd => get_buffer(InverseStdBuffer)!;

    public override Tensor forward(Tensor rgb)
    {
        using var scope = NewDisposeScope();
        var x = swapToBgr ? rgb.flip(1) : rgb;
        if (scale != 1f) x = x * scale;
        // By name, not from fields: moving the module to another device or dtype replaces its registered buffers.
        var mean = get_buffer(MeanBuffer)!;
        var m = mean;
        if (mean.shape[2] > 1 && (mean.shape[2] != x.shape[2] || mean.shape[3] != x.shape[3]))
            m = nn.functional.interpolate(mean, [x.shape[2], x.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
        x = (x - m) * get_buffer(InverseStdBuffer)!;
        return x.MoveToOuterDisposeScope();
    }
}
