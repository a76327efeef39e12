using RetailCam.Engine.Imaging;
using RetailCam.Engine.Inference;
using RetailCam.Tests.Support;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using static TorchSharp.torch;

namespace RetailCam.Tests.Inference;

public sealed class FileCategoriserTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("retailcam-categorise-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
    }

    private List<string> WritePhotos(int count, params int[] broken)
    {
        var files = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var file = Path.Combine(folder, "photos", $"{i:D3}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            if (broken.Contains(i)) File.WriteAllBytes(file, [0x89, 0x50, 0x4E, 0x47, 0, 1, 2]);
            else
            {
                using var image = new Image<Rgb24>(90, 70, new Rgb24((byte)(i * 5), 120, (byte)(255 - i * 5)));
                image.SaveAsPng(file);
            }
            files.Add(file);
        }
        return files;
    }

    [Fact]
    public async Task Photos_are_asked_in_full_batches_and_come_back_in_order_with_bad_files_reported()
    {
        // No wait for company: only photos asked together share a forward pass.
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "model"), 3), new PredictorOptions { MaxBatch = 8, MaxWaitMilliseconds = 0 }, CPU);
        var files = WritePhotos(40, broken: [4, 17]);

        var outcomes = new List<FileOutcome>();
        await foreach (var outcome in new FileCategoriser(predictor, new ImageFileDecoder()).CategoriseAsync(files)) outcomes.Add(outcome);

        Assert.Equal(files, outcomes.Select(o => o.Path));
        Assert.Equal([4, 17], outcomes.Select((o, i) => (o, i)).Where(x => x.o.Prediction is null).Select(x => x.i));
        Assert.All(outcomes.Where(o => o.Prediction is null), o => Assert.Equal(ImageDecodeErrorKind.NotAnImage, o.ErrorKind));
        Assert.All(outcomes.Where(o => o.Prediction is not null), o => Assert.Equal(o.Path, o.Prediction!.Source));
        // Five groups of eight files, two of them one photo short: one forward pass each.
        Assert.Equal(5, predictor.BatchesRun);
    }

    [Fact]
    public async Task A_reader_that_stops_early_ends_the_categorisation_without_waiting_for_the_folder()
    {
        using var predictor = Predictor.ForFolder(TinyModels.Save(Path.Combine(folder, "model"), 3), new PredictorOptions { MaxBatch = 4 }, CPU);
        var files = WritePhotos(64);

        var read = 0;
        await foreach (var outcome in new FileCategoriser(predictor, new ImageFileDecoder()).CategoriseAsync(files))
            if (++read == 3) break;

        Assert.Equal(3, read);
        // Decoding ran at most a group or two ahead of the reader, not through the folder.
        Assert.True(predictor.BatchesRun <= 3, $"{predictor.BatchesRun} forward passes");
    }
}
