using System.Text.Json;
using RetailCam.Engine;
using RetailCam.Engine.Models;
using RetailCam.Engine.Models.Storage;

namespace RetailCam.Tests;

public class EngineJsonTests
{
    [Fact]
    public void Engine_files_name_enums_and_record_nan_as_a_literal()
    {
        var json = JsonSerializer.Serialize(new { TrainLoss = double.NaN, Backbone = BackboneKind.Vgg16 }, EngineJson.Options);
        Assert.Equal("""{"trainLoss":"NaN","backbone":"Vgg16"}""", json);
    }

    [Fact]
    public void The_manifest_writes_backbones_as_the_cli_spells_them_indented()
    {
        Assert.Equal("\"resnet18\"", JsonSerializer.Serialize(BackboneKind.ResNet18, ModelManifest.JsonOptions));
        Assert.Contains("\n", JsonSerializer.Serialize(new { A = 1 }, ModelManifest.JsonOptions));
    }

    [Fact]
    public void The_shared_options_cannot_be_changed_by_one_of_their_users()
    {
        Assert.Throws<InvalidOperationException>(() => EngineJson.Options.WriteIndented = true);
    }
}
