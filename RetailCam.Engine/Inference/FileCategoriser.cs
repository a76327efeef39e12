using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RetailCam.Engine.Imaging;

namespace RetailCam.Engine.Inference;

/// <summary>The outcome for one file: a prediction, or the reason it could not be read.</summary>
public sealed record FileOutcome(string Path, Prediction? Prediction, string? Error, ImageDecodeErrorKind? ErrorKind);

/// <summary>
/// Bulk categorisation of files: decoding runs on worker threads, predictions go through the
/// predictor's micro-batches, results come back in input order, and a bad file is reported and
/// skipped, never fatal.
/// </summary>
public sealed class FileCategoriser(Predictor predictor, ImageFileDecoder decoder, int decodeWorkers = FileCategoriser.DefaultDecodeWorkers)
{
    /// <summary>Threads decoding files while the predictor runs the batches they fill.</summary>
    public const int DefaultDecodeWorkers = 2;

    public static IReadOnlyList<string> FindImages(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Folder '{folder}' does not exist.");
        return Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System })
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !Path.GetRelativePath(folder, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('.')))
            .Where(f => ImageFileDecoder.ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public IAsyncEnumerable<FileOutcome> CategoriseAsync(IReadOnlyList<string> files, PredictRequestOptions? options = null,
        CancellationToken cancellationToken = default) => CategoriseAsync(files, _ => options, cancellationToken);

    /// <param name="optionsFor">What to compute for each file (e.g. the maps of its own true categories).</param>
    public async IAsyncEnumerable<FileOutcome> CategoriseAsync(IReadOnlyList<string> files, Func<string, PredictRequestOptions?> optionsFor,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // A bounded window of in-flight files keeps memory flat however large the folder. It is one of the
        // predictor's batches deep, so decoding and forward passes mostly take turns: on two cores a wider
        // window (two batches, decoding beside the forward) was slower, 55 against 65 photos/s, because
        // libtorch's threads then wait for the one a decoder took.
        var window = Channel.CreateBounded<Task<FileOutcome>>(Math.Max(4, decodeWorkers * 8));
        var producer = Task.Run(async () =>
        {
            var throttle = new SemaphoreSlim(decodeWorkers);
            try
            {
                foreach (var file in files)
                {
                    await throttle.WaitAsync(cancellationToken);
                    var task = Task.Run(() => CategoriseOneAsync(file, optionsFor(file), throttle, cancellationToken), cancellationToken);
                    await window.Writer.WriteAsync(task, cancellationToken);
                }
                window.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                window.Writer.TryComplete(ex);
            }
        }, cancellationToken);

        await foreach (var task in window.Reader.ReadAllAsync(cancellationToken))
            yield return await task;
        await producer;
    }

    /// <summary>Decoding holds a worker slot; the prediction does not, so the predictor can batch the whole window.</summary>
    private async Task<FileOutcome> CategoriseOneAsync(string file, PredictRequestOptions? options, SemaphoreSlim decodeSlot, CancellationToken cancellationToken)
    {
        var released = false;
        void Release()
        {
            if (released) return;
            released = true;
            decodeSlot.Release();
        }
        try
        {
            using var image = decoder.Decode(file);
            Release();
            var prediction = await predictor.PredictAsync(image, file, options, cancellationToken);
            return new FileOutcome(file, prediction, null, null);
        }
        catch (ImageDecodeException ex)
        {
            return new FileOutcome(file, null, ex.Message, ex.Kind);
        }
        catch (IOException ex)
        {
            return new FileOutcome(file, null, ex.Message, null);
        }
        catch (UnauthorizedAccessException ex)
        {
            return new FileOutcome(file, null, ex.Message, null);
        }
        finally
        {
            Release();
        }
    }
}
