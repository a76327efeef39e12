using System.ComponentModel.DataAnnotations;
using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Data;

/// <summary>Random changes applied to training images, each switchable, scaled by <see cref="Strength"/>.</summary>
public sealed class AugmentationOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>0 = none, 1 = the usual ImageNet ranges (crop area down to 8 %, jitter ±40 %).</summary>
    [Range(0.0, 1.0)]
    public double Strength { get; set; } = 0.5;

    public bool RandomResizedCrop { get; set; } = true;
    public bool HorizontalFlip { get; set; } = true;
    public bool ColourJitter { get; set; } = true;

    /// <summary>
    /// Probability of pasting the article on a random shop-scene background instead of its own
    /// (mask from the grey level: for articles photographed on black, like Fashion-MNIST).
    /// </summary>
    [Range(0.0, 1.0)]
    public double SceneBackgroundProbability { get; set; }

    public double MinimumCropArea => 1 - 0.92 * Strength;
    public double JitterAmount => 0.4 * Strength;
}

/// <summary>How the streaming loader reads, prepares and batches images.</summary>
public sealed class DataLoaderOptions
{
    [Range(1, 4096)]
    public int BatchSize { get; set; } = 32;

    /// <summary>Side of the square images handed to the model.</summary>
    [Range(8, 4096)]
    public int ImageSize { get; set; } = 224;

    /// <summary>Background threads that decode and augment.</summary>
    [Range(1, 64)]
    public int Workers { get; set; } = 2;

    /// <summary>Finished batches waiting for the consumer; memory is bounded by this plus <see cref="Workers"/>.</summary>
    [Range(1, 256)]
    public int PrefetchBatches { get; set; } = 4;

    public bool Shuffle { get; set; } = true;

    public int Seed { get; set; } = 1;

    /// <summary>Drop a last batch smaller than <see cref="BatchSize"/> (keeps BatchNorm statistics steady).</summary>
    public bool DropLast { get; set; }

    /// <summary>How images reach the input size when not augmented (evaluation).</summary>
    public FitMode EvaluationFit { get; set; } = FitMode.CentreCrop;

    public AugmentationOptions Augmentation { get; set; } = new();

    public DataLoaderOptions Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        Validator.ValidateObject(Augmentation, new ValidationContext(Augmentation), validateAllProperties: true);
        return this;
    }
}
