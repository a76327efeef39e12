using RetailCam.Engine.Cam;
using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Inference;

/// <summary>One category with its probability.</summary>
public sealed record CategoryScore(string Category, double Probability);

/// <summary>One level of the predicted category path (Apparel › Tops › Shirt) with the probability summed over its leaves.</summary>
public sealed record PathLevel(string Name, string Category, double Probability);

/// <summary>A product found in the photo: its category, the class probability, and the box in photo pixels.</summary>
public sealed record ProductBox(string Category, double Probability, int XMin, int YMin, int XMax, int YMax)
{
    public PixelBox ToPixelBox() => new(XMin, YMin, XMax, YMax);

    public static ProductBox From(PixelBox box, string category, double probability) =>
        new(category, probability, box.XMin, box.YMin, box.XMax, box.YMax);
}

/// <summary>A class map at the network's feature resolution, normalised to [0,1]; it covers the whole photo.</summary>
public sealed record ClassMapView(int ClassIndex, string Category, ClassMapMethod Method, float[] Values, int Width, int Height)
{
    public HeatMap ToHeatMap() => new(Values, Width, Height);

    /// <summary>The products this map shows in a photo of that size (<see cref="Localisation.ProductBoxes"/>), labelled with its category.</summary>
    public IReadOnlyList<ProductBox> FindBoxes(int photoWidth, int photoHeight, double threshold, double probability) =>
        Localisation.ProductBoxes(Values, Width, Height, photoWidth, photoHeight, threshold)
            .Select(box => ProductBox.From(box, Category, probability)).ToList();

    /// <summary>The pixels of those products (<see cref="Localisation.ProductMask"/>), on the grid the heat map is drawn at.</summary>
    public (bool[] Mask, int GridWidth, int GridHeight) FindMask(int photoWidth, int photoHeight, double threshold) =>
        Localisation.ProductMask(Values, Width, Height, photoWidth, photoHeight, threshold);
}

/// <summary>What the engine says about one photo.</summary>
public sealed record Prediction(
    string Source,
    int Width,
    int Height,
    IReadOnlyList<CategoryScore> Top,
    IReadOnlyList<PathLevel> Path,
    IReadOnlyList<ProductBox> Boxes,
    IReadOnlyList<ClassMapView> Maps,
    IReadOnlyList<double> Probabilities,
    string ModelId)
{
    /// <summary>
    /// The category path to file the photo under: the deepest level of <see cref="Path"/> whose
    /// probability clears the predictor's path confidence (Apparel 0.97 › Tops 0.41 files under
    /// Apparel); null when no level does or the photo is not one of the catalogue's categories.
    /// </summary>
    public string? FiledUnder { get; init; }

    /// <summary>The best category scores below the model's unknown threshold: the photo looks like none of the categories.</summary>
    public bool NotInCatalogue { get; init; }

    /// <summary>Side in pixels the photo was resized to for the network.</summary>
    public int InputSize { get; init; }
}

/// <summary>What to compute for a photo besides the categories.</summary>
public sealed record PredictRequestOptions
{
    /// <summary>The model to ask, by id; null asks the predictor's default model.</summary>
    public string? ModelId { get; init; }

    public ClassMapMethod Method { get; init; } = ClassMapMethods.Default;

    /// <summary>Classes whose maps to return; empty means the top-1 class.</summary>
    public IReadOnlyList<int> MapClasses { get; init; } = [];

    public int TopK { get; init; } = 5;
}
