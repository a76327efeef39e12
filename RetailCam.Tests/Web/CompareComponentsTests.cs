using Bunit;
using RetailCam.Engine.Cam;
using RetailCam.Engine.Inference;
using RetailCam.Web.Components.Compare;
using RetailCam.Web.Components.Predict;
using RetailCam.Web.Services;

namespace RetailCam.Tests.Web;

public class CompareComponentsTests : ComponentTestBase
{
    private static readonly string Hash = new('b', 64);

    private static ModelInfo Model(string id, params string[] categories) =>
        new(id, $"/models/{id}", "vgg16", 64, categories, null, DateTimeOffset.UnixEpoch, "folder");

    private static readonly ModelInfo First = Model("run:first", "Apparel/Tops/Shirt", "Apparel/Tops/Coat", "Footwear/Sneaker");

    [Fact]
    public void Classes_mode_gives_one_tile_per_chosen_class_of_the_reference_model_and_ignores_unknown_indices()
    {
        var tiles = ComparePlan.Tiles(CompareMode.Classes, First, [2, 0, 2, 7], [], null, ClassMapMethods.GradCam);

        Assert.Equal([new TileSpec("run:first", 2, "Footwear/Sneaker", ClassMapMethods.GradCam), new TileSpec("run:first", 0, "Apparel/Tops/Shirt", ClassMapMethods.GradCam)], tiles);
    }

    [Fact]
    public void Models_mode_finds_the_class_by_name_in_each_model_and_skips_models_without_it()
    {
        // The same categories in another order: the class index differs per model, the category must not.
        var reordered = Model("model:reordered", "Footwear/Sneaker", "Apparel/Tops/Coat", "Apparel/Tops/Shirt");
        var other = Model("model:bags", "Accessories/Bag");

        var tiles = ComparePlan.Tiles(CompareMode.Models, First, [], [First, reordered, other], "Apparel/Tops/Shirt", ClassMapMethods.Cam);

        Assert.Equal([new TileSpec("run:first", 0, "Apparel/Tops/Shirt", ClassMapMethods.Cam), new TileSpec("model:reordered", 2, "Apparel/Tops/Shirt", ClassMapMethods.Cam)], tiles);
    }

    [Fact]
    public void Methods_mode_gives_the_three_methods_for_one_class()
    {
        var tiles = ComparePlan.Tiles(CompareMode.Methods, First, [], [], "Apparel/Tops/Coat", ClassMapMethods.Cam);

        Assert.Equal([ClassMapMethods.Cam, ClassMapMethods.GradCam, ClassMapMethods.GradCamPlusPlus], tiles.Select(t => t.Method));
        Assert.All(tiles, t => Assert.Equal(("run:first", 1), (t.ModelId, t.ClassIndex)));
        Assert.Empty(ComparePlan.Tiles(CompareMode.Methods, First, [], [], "Accessories/Bag", ClassMapMethods.Cam));
    }

    [Fact]
    public void Shared_categories_are_those_every_model_knows_in_the_first_models_order()
    {
        var second = Model("model:second", "Footwear/Sneaker", "Accessories/Bag", "Apparel/Tops/Shirt");

        Assert.Equal(["Apparel/Tops/Shirt", "Footwear/Sneaker"], ComparePlan.SharedCategories([First, second]));
        Assert.Empty(ComparePlan.SharedCategories([]));
    }

    [Fact]
    public void Tile_titles_class_model_and_method_maps_with_its_own_model_and_places_its_boxes_in_percent()
    {
        var spec = new TileSpec("run:a b", 1, "Apparel/Tops/Coat", ClassMapMethods.GradCamPlusPlus);
        var summary = new ClassMapSummary(Hash, "run:a b", 1, "Apparel/Tops/Coat", ClassMapMethods.GradCamPlusPlus, 0.4321, 200, 100,
            [new ProductBox("Apparel/Tops/Coat", 0.4321, 20, 10, 120, 90), new ProductBox("Apparel/Tops/Coat", 0.4321, 150, 50, 190, 95)]);

        var tile = Render<CompareTile>(p => p
            .Add(c => c.ContentHash, Hash)
            .Add(c => c.Spec, spec)
            .Add(c => c.Summary, summary)
            .Add(c => c.ColourMap, "viridis"));

        Assert.Equal("Coat / run:a b / Grad-CAM++", tile.Find("[data-testid=tile-title]").TextContent);
        Assert.Equal($"/api/maps/{Hash}.png?model=run%3Aa%20b&class=1&method=gradcam%2B%2B&colour=viridis", tile.Find("[data-testid=tile-heatmap]").GetAttribute("src"));
        Assert.Equal("0.43", tile.Find("[data-testid=tile-probability]").TextContent);
        Assert.Equal(["left:10%;top:10%;width:50%;height:80%", "left:75%;top:50%;width:20%;height:45%"],
            tile.FindAll("[data-testid=tile-box]").Select(b => b.GetAttribute("style")));
        Assert.Equal("2 boxes", tile.Find("[data-testid=tile-box-count]").TextContent);
    }

    [Fact]
    public void Tile_shows_progress_until_its_summary_arrives_and_a_failed_tile_says_why()
    {
        var spec = new TileSpec("run:gone", 0, "Apparel/Tops/Shirt", ClassMapMethods.Cam);
        var waiting = Render<CompareTile>(p => p.Add(c => c.ContentHash, Hash).Add(c => c.Spec, spec));
        Assert.Single(waiting.FindAll("[data-testid=tile-busy]"));
        Assert.Empty(waiting.FindAll("[data-testid=tile-box]"));

        var failed = Render<CompareTile>(p => p.Add(c => c.ContentHash, Hash).Add(c => c.Spec, spec).Add(c => c.Error, "Model 'run:gone' does not exist."));
        Assert.Contains("run:gone", failed.Find("[data-testid=tile-error]").TextContent);
        Assert.Empty(failed.FindAll("[data-testid=tile-busy]"));
    }

    [Fact]
    public void Tile_boxes_can_be_switched_off()
    {
        var spec = new TileSpec("run:a", 0, "Apparel/Tops/Shirt", ClassMapMethods.Cam);
        var summary = new ClassMapSummary(Hash, "run:a", 0, "Apparel/Tops/Shirt", ClassMapMethods.Cam, 0.9, 100, 100, [new ProductBox("Apparel/Tops/Shirt", 0.9, 0, 0, 50, 50)]);
        var tile = Render<CompareTile>(p => p.Add(c => c.ContentHash, Hash).Add(c => c.Spec, spec).Add(c => c.Summary, summary).Add(c => c.ShowBoxes, false));

        Assert.Empty(tile.FindAll("[data-testid=tile-box]"));
    }

    [Fact]
    public void Result_card_links_its_photo_to_the_compare_page()
    {
        var result = new PhotoResult(Hash, "shirt.jpg", new Prediction("shirt.jpg", 100, 100, [new CategoryScore("Apparel/Tops/Shirt", 0.9)],
            [new PathLevel("Shirt", "Apparel/Tops/Shirt", 0.9)], [], [], [0.9, 0.05, 0.05], "run:first"));
        var card = Render<ResultCard>(p => p.Add(c => c.Result, result).Add(c => c.Categories, First.Categories));

        Assert.Equal($"/compare?photo={Hash}", card.Find("[data-testid=compare-link]").GetAttribute("href"));
    }
}
