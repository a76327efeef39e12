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
    /// Share of training items that become a scene: the item's product and up to
    /// <see cref="MaxSceneProducts"/> − 1 others, cut from their backgrounds and pasted onto a random
    /// shop-scene background, with every pasted product's class as a target. Teaches the class maps
    /// to find products anywhere in a frame, several at once.
    /// </summary>
    [Range(0.0, 1.0)]
    public double SceneProbability { get; set; }

    [Range(1, 8)]
    public int MaxSceneProducts { get; set; } = 3;

    /// <summary>Share of scenes with no product at all (every target 0): backgrounds are nothing of the catalogue.</summary>
    [Range(0.0, 1.0)]
    public double EmptySceneShare { get; set; } = 0.1;

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

    /// <summary>
    /// 0: scenes are drawn per item and share the batch's side. Otherwise a batch is all scenes (with
    /// probability <see cref="AugmentationOptions.SceneProbability"/>) at this side, or all plain photos
    /// at <see cref="ImageSize"/>: two sides cannot share one tensor.
    /// </summary>
    [Range(0, 4096)]
    public int SceneImageSize { get; set; }

    /// <summary>Scenes come in batches of their own at another side.</summary>
    public bool SceneBatches => SceneImageSize > 0 && SceneImageSize != ImageSize;

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

    /// <summary>Classes of the dataset; above 0 each batch also carries multi-hot targets [B, ClassCount] (needed for scenes).</summary>
    [Range(0, 100_000)]
    public int ClassCount { get; set; }

    public DataLoaderOptions Validate()
    {
        Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
        Validator.ValidateObject(Augmentation, new ValidationContext(Augmentation), validateAllProperties: true);
        return this;
    }
}
