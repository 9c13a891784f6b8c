print("breakglass")
