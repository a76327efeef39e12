namespace RetailCam.Engine.Imaging;

/// <summary>How an image of any aspect ratio is brought to the model's square input.</summary>
public enum FitMode
{
    /// <summary>Scale the shorter side to the target, cut the overflow equally on both sides.</summary>
    CentreCrop,
    /// <summary>Scale the longer side to the target, pad the rest with a flat colour: nothing is lost.</summary>
    Letterbox,
    /// <summary>Scale each side independently: nothing is lost, shapes are distorted.</summary>
    Stretch,
}
