namespace RetailCam.Engine.Inference;

/// <summary>The JSON shape of one photo's prediction, shared by `retailcam predict` and POST /api/predict.</summary>
public static class PredictionJson
{
    /// <param name="upload">The stored upload's id (its SHA-256), which filing refers to; the API sets it.</param>
    /// <param name="review">The review item the prediction was queued as, when it was unsure.</param>
    public static object Describe(Prediction prediction, string? heatmap = null, string? overlay = null, string? upload = null, string? review = null) => new
    {
        file = prediction.Source,
        width = prediction.Width,
        height = prediction.Height,
        model = prediction.ModelId,
        top = prediction.Top.Select(t => new { category = t.Category, probability = Math.Round(t.Probability, 6) }),
        path = prediction.Path.Select(l => new { name = l.Name, category = l.Category, probability = Math.Round(l.Probability, 6) }),
        label = string.Join(" › ", prediction.Path.Select(l => $"{l.Name} {l.Probability:F2}")),
        filedUnder = prediction.FiledUnder,
        notInCatalogue = prediction.NotInCatalogue,
        inputSize = prediction.InputSize,
        boxes = prediction.Boxes.Select(b => new { category = b.Category, probability = Math.Round(b.Probability, 6), xMin = b.XMin, yMin = b.YMin, xMax = b.XMax, yMax = b.YMax }),
        heatmap,
        overlay,
        upload,
        review,
    };
}
