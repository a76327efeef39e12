using Google.Protobuf;
using Onnx;
using RetailCam.Engine.Models.Import;
using RetailCam.Engine.Native;

namespace RetailCam.Tests.Models;

public sealed class PretrainedFileTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("retailcam-pretrained-").FullName;

    public PretrainedFileTests() => TorchRuntime.Initialize(DeviceChoice.Cpu, 0);

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Default_folder_beside_the_build_holds_both_files()
    {
        var files = PretrainedResNet18Files.Locate();
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "pretrained", "ResNet18.onnx"), files.ModelPath);
        Assert.True(File.Exists(files.PreprocessingPath));
    }

    [Fact]
    public void Missing_model_file_is_named_in_the_error()
    {
        var error = Assert.Throws<PretrainedFileNotFoundException>(() => PretrainedResNet18.Load(folder));
        Assert.Contains("ResNet18.onnx", error.Message);
        Assert.Contains(folder, error.Message);
    }

    [Fact]
    public void Missing_preprocessing_file_is_named_in_the_error()
    {
        File.WriteAllBytes(Path.Combine(folder, "ResNet18.onnx"), [1, 2, 3]);
        var error = Assert.Throws<PretrainedFileNotFoundException>(() => PretrainedResNet18.Load(folder));
        Assert.Contains("ResNetPreprocess.onnx", error.Message);
    }

    [Fact]
    public void File_that_is_not_protobuf_is_refused_with_a_format_error()
    {
        File.WriteAllText(Path.Combine(folder, "ResNet18.onnx"), "not a model");
        File.Copy(PretrainedResNet18Files.Locate().PreprocessingPath, Path.Combine(folder, "ResNetPreprocess.onnx"));
        var error = Assert.Throws<PretrainedModelFormatException>(() => PretrainedResNet18.Load(folder));
        Assert.Contains("ResNet18.onnx", error.Message);
    }

    [Fact]
    public void Onnx_model_that_is_not_a_resnet_is_refused_with_a_format_error()
    {
        // A valid ONNX graph of another shape: the preprocessing graph standing in for the network.
        var preprocessing = PretrainedResNet18Files.Locate().PreprocessingPath;
        File.Copy(preprocessing, Path.Combine(folder, "ResNet18.onnx"));
        File.Copy(preprocessing, Path.Combine(folder, "ResNetPreprocess.onnx"));
        var error = Assert.Throws<PretrainedModelFormatException>(() => PretrainedResNet18.Load(folder));
        Assert.Contains("Conv", error.Message);
    }

    [Fact]
    public void Preprocessing_graph_without_a_mean_image_is_refused_with_a_format_error()
    {
        // A well-formed ONNX file whose graph only applies a ReLU: nothing to subtract.
        var model = new ModelProto { IrVersion = 3, Graph = new GraphProto { Name = "relu" } };
        model.Graph.Node.Add(new NodeProto { OpType = "Relu", Input = { "x" }, Output = { "y" } });
        File.WriteAllBytes(Path.Combine(folder, "ResNetPreprocess.onnx"), model.ToByteArray());
        File.WriteAllText(Path.Combine(folder, "ResNet18.onnx"), "never read: the preprocessing is read first");
        var error = Assert.Throws<PretrainedModelFormatException>(() => PretrainedResNet18.Load(folder));
        Assert.Contains("ResNetPreprocess.onnx", error.Message);
    }
}
