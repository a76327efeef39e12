using Bunit;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Web.Components.Predict;
using RetailCam.Web.Services;

namespace RetailCam.Tests.Web;

public class PredictComponentsTests : ComponentTestBase
{
    private static readonly string[] Categories = ["Apparel/Tops/Shirt", "Apparel/Tops/Coat", "Footwear/Sneaker"];

    private static PhotoResult Result() => new(new string('a', 64), "shirt.jpg", new Prediction(
        "shirt.jpg", 200, 100,
        [new CategoryScore("Apparel/Tops/Coat", 0.7), new CategoryScore("Apparel/Tops/Shirt", 0.2), new CategoryScore("Footwear/Sneaker", 0.1)],
        [new PathLevel("Apparel", "Apparel", 0.9), new PathLevel("Tops", "Apparel/Tops", 0.9), new PathLevel("Coat", "Apparel/Tops/Coat", 0.7)],
        [new ProductBox("Apparel/Tops/Coat", 0.7, 20, 10, 120, 90), new ProductBox("Footwear/Sneaker", 0.1, 150, 50, 190, 95)],
        [], [0.2, 0.7, 0.1], "run:demo"));

    [Fact]
    public void Category_path_shows_every_level_with_its_probability_in_invariant_format()
    {
        var levels = Result().Prediction.Path;
        var cut = Render<CategoryPath>(p => p.Add(c => c.Levels, levels));

        var chips = cut.FindAll("[data-testid=path-level]");
        Assert.Equal(["Apparel 0.90", "Tops 0.90", "Coat 0.70"], chips.Select(c => c.TextContent.Trim().Replace("  ", " ")));
    }

    [Fact]
    public void Class_selector_labels_each_category_with_its_probability()
    {
        var selector = Render<ClassSelector>(p => p
            .Add(c => c.Categories, Categories)
            .Add(c => c.Probabilities, [0.2, 0.7, 0.1])
            .Add(c => c.Selected, 1));

        Assert.Equal("Apparel/Tops/Coat (0.70)", selector.Instance.Label(1));
        Assert.Equal("Footwear/Sneaker (0.10)", selector.Instance.Label(2));
    }

    [Fact]
    public void Result_card_shows_the_top_class_map_and_only_its_boxes_placed_in_percent_of_the_photo()
    {
        var card = Render<ResultCard>(p => p
            .Add(c => c.Result, Result())
            .Add(c => c.Categories, Categories)
            .Add(c => c.Method, ClassMapMethods.GradCam)
            .Add(c => c.ColourMap, "turbo"));

        Assert.Equal(1, card.Instance.SelectedClass);
        var heat = card.Find("[data-testid=heatmap]").GetAttribute("src")!;
        Assert.Contains("class=1", heat);
        Assert.Contains("method=gradcam&", heat);
        Assert.Contains("colour=turbo", heat);
        var boxes = card.FindAll("[data-testid=box]");
        Assert.Single(boxes);
        Assert.Equal("left:10%;top:10%;width:50%;height:80%", boxes[0].GetAttribute("style"));
        Assert.Equal(3, card.FindAll("[data-testid=top-categories] .mud-progress-linear").Count);
        Assert.Contains("opacity=0.6", card.Find("[data-testid=download-overlay]").GetAttribute("href"));
    }

    [Fact]
    public void Choosing_another_class_in_the_card_switches_the_map_and_the_boxes()
    {
        var card = Render<ResultCard>(p => p.Add(c => c.Result, Result()).Add(c => c.Categories, Categories));

        var selector = card.FindComponent<ClassSelector>();
        card.InvokeAsync(() => selector.Instance.SelectedChanged.InvokeAsync(2));

        Assert.Equal(2, card.Instance.SelectedClass);
        Assert.Contains("class=2", card.Find("[data-testid=heatmap]").GetAttribute("src"));
        Assert.Equal("left:75%;top:50%;width:20%;height:45%", card.Find("[data-testid=box]").GetAttribute("style"));
    }

    [Fact]
    public void Every_product_found_is_listed_and_all_their_boxes_can_be_drawn_at_once()
    {
        var card = Render<ResultCard>(p => p.Add(c => c.Result, Result()).Add(c => c.Categories, Categories));

        Assert.Equal(["Coat 0.70", "Sneaker 0.10"], card.FindAll("[data-testid=product]").Select(c => c.TextContent.Trim()));
        Assert.Single(card.FindAll("[data-testid=box]"));
        card.InvokeAsync(() => card.FindComponent<MudBlazor.MudSwitch<bool>>().Instance.ValueChanged.InvokeAsync(true));
        Assert.Equal(2, card.FindAll("[data-testid=box]").Count);
    }

    [Fact]
    public void Boxes_can_be_switched_off()
    {
        var card = Render<ResultCard>(p => p.Add(c => c.Result, Result()).Add(c => c.Categories, Categories).Add(c => c.ShowBoxes, false));
        Assert.Empty(card.FindAll("[data-testid=box]"));
    }
}
