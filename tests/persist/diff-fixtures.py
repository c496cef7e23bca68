print("diff placeholder")
