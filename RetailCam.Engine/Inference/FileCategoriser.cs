using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RetailCam.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

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
    /// <remarks>
    /// Files go in groups of the predictor's batch: a group is decoded, then all its photos are asked at once, so
    /// each forward pass is a full batch; while it runs, the next group decodes. Asked one by one as each photo
    /// was decoded, the predictor's short wait for company caught two or three photos a pass (decoding one takes
    /// milliseconds), and its wait spun on a core the decoders needed. At most two groups of decoded photos exist
    /// at a time, however large the folder.
    /// </remarks>
    public async IAsyncEnumerable<FileOutcome> CategoriseAsync(IReadOnlyList<string> files, Func<string, PredictRequestOptions?> optionsFor,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var groupSize = Math.Max(1, predictor.MaxBatch);
        // One group waits here while the consumer awaits the one before it: decoding runs one group ahead.
        var groups = Channel.CreateBounded<Task<FileOutcome[]>>(1);
        // A consumer that stops early stops the producer too, rather than leaving it blocked on a full channel.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = stop.Token;
        var producer = Task.Run(async () =>
        {
            try
            {
                for (var start = 0; start < files.Count; start += groupSize)
                {
                    var group = files.Skip(start).Take(groupSize).ToArray();
                    var decoded = await DecodeAsync(group, token);
                    // Asked as soon as decoded; each photo is disposed once answered, whether or not anyone reads the answer.
                    await groups.Writer.WriteAsync(PredictAsync(group, decoded, optionsFor, token), token);
                }
                groups.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                groups.Writer.TryComplete(ex);
            }
        }, CancellationToken.None);

        try
        {
            await foreach (var group in groups.Reader.ReadAllAsync(cancellationToken))
                foreach (var outcome in await group)
                    yield return outcome;
        }
        finally
        {
            stop.Cancel();
            await producer;
        }
    }

    /// <summary>The group's photos decoded on <c>decodeWorkers</c> threads; a file that cannot be read becomes its outcome.</summary>
    private async Task<(Image<Rgb24>? Photo, FileOutcome? Failed)[]> DecodeAsync(string[] group, CancellationToken cancellationToken)
    {
        var decoded = new (Image<Rgb24>? Photo, FileOutcome? Failed)[group.Length];
        try
        {
            await Parallel.ForAsync(0, group.Length, new ParallelOptions { MaxDegreeOfParallelism = decodeWorkers, CancellationToken = cancellationToken }, (i, _) =>
            {
                decoded[i] = Decode(group[i]);
                return ValueTask.CompletedTask;
            });
            return decoded;
        }
        catch
        {
            foreach (var (photo, _) in decoded) photo?.Dispose();
            throw;
        }
    }

    private (Image<Rgb24>? Photo, FileOutcome? Failed) Decode(string file)
    {
        try
        {
            return (decoder.Decode(file), null);
        }
        catch (ImageDecodeException ex)
        {
            return (null, new FileOutcome(file, null, ex.Message, ex.Kind));
        }
        catch (IOException ex)
        {
            return (null, new FileOutcome(file, null, ex.Message, null));
        }
        catch (UnauthorizedAccessException ex)
        {
            return (null, new FileOutcome(file, null, ex.Message, null));
        }
    }

    /// <summary>Every decoded photo of the group asked at once, so the predictor takes them in one batch; each photo is disposed once answered.</summary>
    private async Task<FileOutcome[]> PredictAsync(string[] group, (Image<Rgb24>? Photo, FileOutcome? Failed)[] decoded,
        Func<string, PredictRequestOptions?> optionsFor, CancellationToken cancellationToken)
    {
        var answers = new Task<FileOutcome>[group.Length];
        for (var i = 0; i < group.Length; i++)
        {
            var (photo, failed) = decoded[i];
            answers[i] = photo is null ? Task.FromResult(failed!) : AnswerAsync(group[i], photo, optionsFor(group[i]), cancellationToken);
        }
        return await Task.WhenAll(answers);
    }

    private async Task<FileOutcome> AnswerAsync(string file, Image<Rgb24> photo, PredictRequestOptions? options, CancellationToken cancellationToken)
    {
        using (photo)
            return new FileOutcome(file, await predictor.PredictAsync(photo, file, options, cancellationToken), null, null);
    }
}
