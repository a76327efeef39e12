using RetailCam.Benchmarks;
using RetailCam.Tests.Support;

namespace RetailCam.Tests.Cli;

/// <summary>A small catalogue and one short training run by `retailcam train`, shared by the verb tests that read its model.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public const int Classes = 2;
    public const int ImagesPerClass = 30;

    public TrainedRunFixture()
    {
        Catalogue = SyntheticCatalogue.Write(Path.Combine(Root, "catalogue"), Classes, ImagesPerClass, size: 48);
        Train = ToolProcess.Run(["train", "--data", Catalogue, "--out", RunFolder, "--epochs", "1", "--batch", "8",
            "--image-size", "32", "--snapshot-every", "0", "--device", "cpu", "--json"], timeout: TimeSpan.FromMinutes(5));
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("retailcam-cli-").FullName;
    public string Catalogue { get; }
    public string RunFolder => Path.Combine(Root, "run");
    public (int ExitCode, string Stdout, string Stderr) Train { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public class CliVerbTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public void Train_ends_with_the_run_summary_as_json_and_leaves_a_loadable_model()
    {
        Assert.True(run.Train.ExitCode == 0, run.Train.Stderr);
        using var json = ToolProcess.LastJson(run.Train.Stdout);
        var root = json.RootElement;
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.Equal(TrainedRunFixture.Classes, root.GetProperty("categories").GetInt32());
        Assert.True(root.GetProperty("steps").GetInt64() >= 1);
        Assert.InRange(root.GetProperty("accuracy").GetDouble(), 0, 1);
        // The rest of the images are the held-out test split, which training never reads.
        var (train, validation) = (root.GetProperty("trainImages").GetInt32(), root.GetProperty("validationImages").GetInt32());
        Assert.True(train > 0 && validation > 0);
        Assert.InRange(train + validation, 1, TrainedRunFixture.Classes * TrainedRunFixture.ImagesPerClass - 1);
        Assert.True(RetailCam.Engine.Models.Storage.ModelFolder.Exists(root.GetProperty("model").GetString()!));
    }

    [Fact]
    public void Eval_counts_every_image_into_a_confusion_matrix_whose_diagonal_is_the_accuracy()
    {
        var (exit, stdout, stderr) = ToolProcess.Run(["eval", "--model", run.RunFolder, "--data", run.Catalogue, "--split", "all", "--json"], timeout: Timeout);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var root = json.RootElement;
        var images = TrainedRunFixture.Classes * TrainedRunFixture.ImagesPerClass;
        Assert.Equal(images, root.GetProperty("images").GetInt32());
        var confusion = root.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray();
        Assert.Equal(TrainedRunFixture.Classes, confusion.Length);
        Assert.Equal(images, confusion.Sum(r => r.Sum()));
        var correct = Enumerable.Range(0, confusion.Length).Sum(i => confusion[i][i]);
        Assert.Equal((double)correct / images, root.GetProperty("accuracy").GetDouble(), 6);
        // The largest serving side, chosen after training among multiples of the training side (32 px).
        var manifest = RetailCam.Engine.Models.Storage.ModelFolder.ReadManifest(Path.Combine(run.RunFolder, "model"));
        Assert.Equal(manifest.ServeInputSize, root.GetProperty("inputSize").GetInt32());
        Assert.InRange(root.GetProperty("inputSize").GetInt32(), 32, 96);
    }

    [Fact]
    public void Eval_with_the_linear_probe_scores_the_baseline_on_the_same_test_photos()
    {
        var (exit, stdout, stderr) = ToolProcess.Run(["eval", "--model", run.RunFolder, "--data", run.Catalogue, "--linear-probe", "--json"], timeout: Timeout);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var probe = json.RootElement.GetProperty("linearProbe");
        Assert.Equal(json.RootElement.GetProperty("images").GetInt32(), probe.GetProperty("testImages").GetInt32());
        Assert.InRange(probe.GetProperty("testAccuracy").GetDouble(), 0, 1);
        Assert.True(probe.GetProperty("trainImages").GetInt32() > 0);
    }

    [Fact]
    public void Predict_gives_a_path_with_a_confidence_per_level_and_writes_heatmap_and_overlay_pngs()
    {
        var photo = Directory.EnumerateFiles(run.Catalogue, "*.png", SearchOption.AllDirectories).Order().First();
        var maps = Path.Combine(run.Root, "maps");
        var (exit, stdout, stderr) = ToolProcess.Run(["predict", "--model", run.RunFolder, photo, "--heatmap", maps, "--method", "gradcam", "--json"], timeout: Timeout);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var image = json.RootElement.GetProperty("images")[0];
        var path = image.GetProperty("path").EnumerateArray().ToList();
        Assert.Equal(2, path.Count); // GroupN › ClassN
        Assert.All(path, level => Assert.InRange(level.GetProperty("probability").GetDouble(), 0, 1));
        Assert.True(path[0].GetProperty("probability").GetDouble() >= path[1].GetProperty("probability").GetDouble() - 1e-9);
        var name = Path.GetFileNameWithoutExtension(photo);
        Assert.True(new FileInfo(Path.Combine(maps, $"{name}.heatmap.png")).Length > 0);
        Assert.True(new FileInfo(Path.Combine(maps, $"{name}.overlay.png")).Length > 0);
    }

    [Fact]
    public void Catalogue_writes_one_csv_row_per_photo()
    {
        var csv = Path.Combine(run.Root, "out", "catalogue.csv");
        var (exit, stdout, stderr) = ToolProcess.Run(["catalogue", "--model", run.RunFolder, "--in", run.Catalogue, "--out", csv, "--json"], timeout: Timeout);

        Assert.True(exit == 0, stderr);
        using var json = ToolProcess.LastJson(stdout);
        var images = TrainedRunFixture.Classes * TrainedRunFixture.ImagesPerClass;
        Assert.Equal(images, json.RootElement.GetProperty("images").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(images + 1, File.ReadAllLines(csv).Count(l => l.Length > 0));
    }

    [Fact]
    public void Catalogue_goes_on_where_a_stopped_run_left_off_and_skips_the_photos_it_has_rows_for()
    {
        var csv = Path.Combine(run.Root, "out", "resumed.csv");
        var images = TrainedRunFixture.Classes * TrainedRunFixture.ImagesPerClass;
        string[] Args(params string[] more) => ["catalogue", "--model", run.RunFolder, "--in", run.Catalogue, "--out", csv, "--json", .. more];
        var first = ToolProcess.Run(Args("--restart"), timeout: Timeout);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var complete = File.ReadAllLines(csv);
        Assert.Equal(images + 1, complete.Length);

        // A run killed part-way: its partial file holds the header, some rows and a row cut in the middle.
        const int kept = 5;
        File.WriteAllText(csv + ".partial", string.Join('\n', complete.Take(kept + 1)) + "\n" + complete[kept + 1][..10]);
        File.Delete(csv);
        var resumed = ToolProcess.Run(Args(), timeout: Timeout);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        using (var json = ToolProcess.LastJson(resumed.Stdout))
        {
            Assert.Equal(kept, json.RootElement.GetProperty("skipped").GetInt32());
            Assert.Equal(images - kept, json.RootElement.GetProperty("images").GetInt32());
        }
        Assert.False(File.Exists(csv + ".partial"));
        var lines = File.ReadAllLines(csv);
        Assert.Equal(complete.Take(kept + 1), lines.Take(kept + 1));
        Assert.Equal(complete.Skip(1).Order(StringComparer.Ordinal), lines.Skip(1).Order(StringComparer.Ordinal));

        // A complete CSV: nothing to do, nothing changed; --restart does it all again.
        var again = ToolProcess.Run(Args(), timeout: Timeout);
        Assert.True(again.ExitCode == 0, again.Stderr);
        using (var json = ToolProcess.LastJson(again.Stdout))
        {
            Assert.Equal(images, json.RootElement.GetProperty("skipped").GetInt32());
            Assert.Equal(0, json.RootElement.GetProperty("images").GetInt32());
        }
        Assert.Equal(lines, File.ReadAllLines(csv));
        var restarted = ToolProcess.Run(Args("--restart"), timeout: Timeout);
        using (var json = ToolProcess.LastJson(restarted.Stdout))
            Assert.Equal(images, json.RootElement.GetProperty("images").GetInt32());
    }

    [Fact]
    public void Catalogue_refuses_to_go_on_with_a_file_that_is_no_catalogue_csv()
    {
        var csv = Path.Combine(run.Root, "out", "someone-elses.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(csv)!);
        File.WriteAllText(csv, "sku,price\n1,2\n");
        var (exit, _, stderr) = ToolProcess.Run(["catalogue", "--model", run.RunFolder, "--in", run.Catalogue, "--out", csv], timeout: Timeout);
        Assert.Equal(1, exit);
        Assert.Contains("is not a catalogue CSV", Assert.Single(ToolProcess.Errors(stderr)), StringComparison.Ordinal);
        Assert.Equal("sku,price\n1,2\n", File.ReadAllText(csv));
    }

    [Fact]
    public void A_setting_from_the_environment_reaches_the_verb_and_a_flag_overrides_it()
    {
        var environment = new Dictionary<string, string> { ["RetailCam__Inference__InputSize"] = "64" };
        var fromEnvironment = ToolProcess.Run(["eval", "--model", run.RunFolder, "--data", run.Catalogue, "--json"], environment, Timeout);
        var fromFlag = ToolProcess.Run(["eval", "--model", run.RunFolder, "--data", run.Catalogue, "--input-size", "48", "--json"], environment, Timeout);

        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Stderr);
        Assert.True(fromFlag.ExitCode == 0, fromFlag.Stderr);
        using var first = ToolProcess.LastJson(fromEnvironment.Stdout);
        using var second = ToolProcess.LastJson(fromFlag.Stdout);
        Assert.Equal(64, first.RootElement.GetProperty("inputSize").GetInt32());
        Assert.Equal(48, second.RootElement.GetProperty("inputSize").GetInt32());
    }

    [Theory]
    [InlineData("RetailCam__Training__BatchSize", "0", "BatchSize")]
    [InlineData("RetailCam__Training__ImageSize", "4000", "ImageSize")]
    [InlineData("RetailCam__Device", "tpu", "Device")]
    [InlineData("RetailCam__Inference__MaxBatch", "0", "MaxBatch")]
    public void Invalid_configuration_stops_the_verb_before_it_starts_with_one_line_naming_the_setting(string key, string value, string setting)
    {
        var output = Path.Combine(run.Root, $"refused-{Guid.NewGuid():N}");
        var (exit, stdout, stderr) = ToolProcess.Run(["train", "--data", run.Catalogue, "--out", output, "--json"],
            new Dictionary<string, string> { [key] = value }, Timeout);

        Assert.Equal(1, exit);
        var errors = ToolProcess.Errors(stderr);
        Assert.Single(errors);
        Assert.Contains(setting, errors[0]);
        Assert.DoesNotContain("{", stdout);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_flag_outside_the_options_limits_is_refused_with_one_line()
    {
        var output = Path.Combine(run.Root, $"refused-{Guid.NewGuid():N}");
        var (exit, _, stderr) = ToolProcess.Run(["train", "--data", run.Catalogue, "--out", output, "--batch", "5000"], timeout: Timeout);

        Assert.Equal(1, exit);
        var errors = ToolProcess.Errors(stderr);
        Assert.Single(errors);
        Assert.Contains("BatchSize", errors[0]);
        Assert.Contains("4096", errors[0]);
        Assert.False(Directory.Exists(output));
    }
}
