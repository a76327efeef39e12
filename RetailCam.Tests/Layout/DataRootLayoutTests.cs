using RetailCam.Engine.Layout;
using RetailCam.Tests.Models;

namespace RetailCam.Tests.Layout;

public class DataRootLayoutTests
{
    [Fact]
    public void Every_path_of_the_data_root_is_named_below_it()
    {
        var layout = new DataRootLayout("/srv/retailcam/");
        Assert.Equal("/srv/retailcam", layout.Root);
        Assert.Equal("/srv/retailcam/retailcam.db", layout.DatabaseFile);
        Assert.Equal("/srv/retailcam/uploads", layout.UploadsFolder);
        Assert.Equal("/srv/retailcam/demo/catalogue", layout.DemoCatalogueFolder);
        Assert.Equal("/srv/retailcam/demo/scenes", layout.DemoScenesFolder);
        Assert.Equal("/srv/retailcam/cache/npm", layout.NpmCacheFolder);
        Assert.Equal("/srv/retailcam/models/shop", layout.PlacedModelFolder("shop"));

        var run = layout.Run("20261201-080000-shirts");
        Assert.Equal("20261201-080000-shirts", run.RunId);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/run.json", run.RunFile);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/metrics.jsonl", run.MetricsFile);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/snapshots/snapshots.jsonl", run.SnapshotIndexFile);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/snapshots/step-000050.png", run.SnapshotFile("step-000050.png"));
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/probes/probe-2.png", run.ProbeFile(2));
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/checkpoint", run.CheckpointFolder);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/model", run.ModelFolder);
        Assert.Equal("/srv/retailcam/runs/20261201-080000-shirts/epochs/epoch-003", run.EpochModelFolder(2));
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("../../../../../../tmp/x")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/etc")]
    [InlineData(".hidden")]
    [InlineData("trailing ")]
    [InlineData("tab\tname")]
    [InlineData("run%2F..")]
    [InlineData("ré")]
    public void Ids_that_are_not_plain_names_are_refused_for_every_segment(string id)
    {
        var layout = new DataRootLayout("/srv/retailcam");
        Assert.Throws<InvalidPathSegmentException>(() => layout.Run(id));
        Assert.Throws<InvalidPathSegmentException>(() => layout.PlacedModelFolder(id));
        Assert.Throws<InvalidPathSegmentException>(() => layout.Run("ok").SnapshotFile(id));
    }

    [Fact]
    public void An_overlong_id_is_refused()
    {
        var layout = new DataRootLayout("/srv/retailcam");
        Assert.Equal(128, layout.Run(new string('a', 128)).RunId.Length);
        Assert.Throws<InvalidPathSegmentException>(() => layout.Run(new string('a', 129)));
    }

    [Fact]
    public void Naming_paths_creates_nothing_on_disk()
    {
        using var folder = new TemporaryFolder();
        var root = Path.Combine(folder.Path, "data");
        var layout = new DataRootLayout(root);
        var run = layout.Run("r1");
        _ = (run.SnapshotsFolder, run.SnapshotFile("a.png"), run.ProbeFile(0), run.CheckpointFolder, run.ModelFolder, run.EpochModelFolder(0),
            layout.UploadsFolder, layout.DatabaseFile, layout.DemoFolder, layout.NpmCacheFolder, layout.PlacedModelFolder("m"));
        Assert.Empty(layout.RunIds());
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void Listing_skips_folders_whose_names_could_not_be_ids()
    {
        using var folder = new TemporaryFolder();
        var layout = new DataRootLayout(folder.Path);
        Directory.CreateDirectory(Path.Combine(layout.RunsFolder, "b-run"));
        Directory.CreateDirectory(Path.Combine(layout.RunsFolder, "a-run"));
        Directory.CreateDirectory(Path.Combine(layout.RunsFolder, ".partial"));
        Directory.CreateDirectory(Path.Combine(layout.RunsFolder, "with space "));
        Assert.Equal(["a-run", "b-run"], layout.RunIds());
    }
}
