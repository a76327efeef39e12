namespace RetailCam.Engine.Models;

/// <summary>How the logits become probabilities, in training (the loss) and in serving.</summary>
public enum ClassOutput
{
    /// <summary>One category per photo: softmax and cross-entropy; probabilities share one unit of mass.</summary>
    Softmax,

    /// <summary>
    /// Each category on its own: sigmoid and binary cross-entropy on multi-hot targets. Several
    /// products in one photo each keep their own confidence, and a photo of nothing in the catalogue
    /// can score low everywhere.
    /// </summary>
    Sigmoid,
}
