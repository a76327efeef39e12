Console.WriteLine("retailcam");
