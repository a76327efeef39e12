using System.Globalization;
using Microsoft.AspNetCore.Components;
using RetailCam.Engine.Inference;
using RetailCam.Web.Components.Predict;
using RetailCam.Web.Services;

namespace RetailCam.Web.Components.Compare;

public partial class CompareTile
{
    [Parameter, EditorRequired] public string ContentHash { get; set; } = "";
    [Parameter, EditorRequired] public TileSpec Spec { get; set; } = null!;
    [Parameter] public string ColourMap { get; set; } = "jet";
    [Parameter] public bool ShowBoxes { get; set; } = true;

    /// <summary>Null while the tile's model is still working on it.</summary>
    [Parameter] public ClassMapSummary? Summary { get; set; }

    /// <summary>Why this tile could not be drawn; the other tiles are unaffected.</summary>
    [Parameter] public string? Error { get; set; }

    public string PhotoUrl => $"/api/uploads/{ContentHash}";

    public string MapUrl => MapUrls.Map(ContentHash, Spec.ModelId, Spec.ClassIndex, Spec.Method, ColourMap);

    public string Title => $"{ShortName(Spec.Category)} / {Spec.ModelId} / {Spec.Method.Label}";

    public string ProbabilityText => Summary is null ? "" : CategoryPath.Format(Summary.Probability);

    public string BoxesText => Summary?.Boxes.Count switch
    {
        null => "",
        0 => "no box: the map has no region above the threshold",
        1 => "1 box",
        var n => $"{n} boxes",
    };

    /// <summary>The box in percent of the photo, so it stays on the article at any tile width.</summary>
    public string BoxStyle(ProductBox box)
    {
        var w = (double)Summary!.Width;
        var h = (double)Summary.Height;
        static string P(double v) => (v * 100).ToString("0.###", CultureInfo.InvariantCulture) + "%";
        return $"left:{P(box.XMin / w)};top:{P(box.YMin / h)};width:{P((box.XMax - box.XMin) / w)};height:{P((box.YMax - box.YMin) / h)}";
    }

    public static string ShortName(string category) => category[(category.LastIndexOf('/') + 1)..];
}
